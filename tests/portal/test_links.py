"""Portal links: signed for one customer, expiring, revocable; the CLI makes and revokes them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hub.platform.db import session
from hub.platform.models import AuditEntry, Organisation
from hub.platform.types import utcnow
from hub.portal import links
from hub.portal.settings import PortalSettingsError, save_settings
from tests.cli.runner import run
from tests.factories import bms_card

ENV = "sandbox"


@pytest.fixture
def customers(hub_db: str) -> tuple[int, int]:
    card = bms_card("psa")
    with session(ENV) as s:
        a = Organisation(environment=ENV, connector_id=card.id, external_id="A", content_hash="x", name="Alpha")
        b = Organisation(environment=ENV, connector_id=card.id, external_id="B", content_hash="x", name="Beta")
        s.add_all([a, b])
        s.flush()
        return a.id, b.id  # type: ignore[return-value]


def _token(url: str) -> str:
    return url.rsplit("/portal/", 1)[1]


def test_a_link_opens_its_own_customer_until_it_expires(customers: tuple[int, int]) -> None:
    a, _ = customers
    with session(ENV) as s:
        issued = links.issue(s, a, days=2)
    assert issued.url.startswith("http://127.0.0.1:8000/portal/")
    opened = links.open_link(issued.token)
    assert (opened.environment, opened.organisation_id) == (ENV, a)
    with pytest.raises(links.LinkError) as expired:
        links.open_link(issued.token, now=utcnow() + timedelta(days=2, seconds=1))
    assert expired.value.reason == "expired" and "expired" in str(expired.value)


@pytest.mark.parametrize("change", ["signature", "customer", "expiry", "truncated"])
def test_a_changed_link_opens_nothing(customers: tuple[int, int], change: str) -> None:
    a, b = customers
    with session(ENV) as s:
        token = links.issue(s, a).token
    body, signature = token.split(".")
    if change == "signature":
        forged = f"{body}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    elif change in ("customer", "expiry"):  # re-encode the payload with another customer or a later expiry
        raw = links._unb64(body).decode().split("|")
        if change == "customer":
            raw[2] = str(b)
        else:
            raw[4] = str(int(raw[4]) + 10 * 365 * 86400)
        forged = f"{links._b64('|'.join(raw).encode())}.{signature}"
    else:
        forged = token[:-5]
    with pytest.raises(links.LinkError) as refused:
        links.open_link(forged)
    assert refused.value.reason == "tampered"
    assert "Alpha" not in str(refused.value) and "Beta" not in str(refused.value)


def test_revoking_withdraws_every_earlier_link_and_new_links_work(customers: tuple[int, int]) -> None:
    a, b = customers
    with session(ENV) as s:
        old, other = links.issue(s, a).token, links.issue(s, b).token
        assert links.revoke(s, a, actor="admin@example.com") == 1
    with pytest.raises(links.LinkError) as revoked:
        links.open_link(old)
    assert revoked.value.reason == "revoked"
    assert links.open_link(other).organisation_id == b  # another customer's links are untouched
    with session(ENV) as s:
        fresh = links.issue(s, a).token
        entry = s.query(AuditEntry).filter(AuditEntry.action == "portal.revoke").one()
    assert links.open_link(fresh).organisation_id == a
    assert entry.actor == "admin@example.com" and entry.entity_id == str(a)


def test_a_link_of_one_environment_opens_nothing_in_the_other(customers: tuple[int, int]) -> None:
    a, _ = customers
    with session(ENV) as s:
        token = links.issue(s, a).token
    raw = links._unb64(token.split(".")[0]).decode().replace(f"|{ENV}|", "|production|")
    with pytest.raises(links.LinkError):
        links.open_link(f"{links._b64(raw.encode())}.{token.split('.')[1]}")


def test_links_use_the_portal_settings_and_bad_settings_name_the_field(customers: tuple[int, int]) -> None:
    a, _ = customers
    with session(ENV) as s:
        save_settings(s, {"public_url": "https://pay.example.com/", "link_days": 7})
        issued = links.issue(s, a)
    assert issued.url.startswith("https://pay.example.com/portal/")
    assert timedelta(days=6, hours=23) < issued.expires_at - utcnow() <= timedelta(days=7)
    for bad, field in [({"public_url": "javascript:alert(1)"}, "public_url"), ({"link_days": 0}, "link_days"),
                       ({"primary_colour": "red; x"}, "primary_colour"), ({"colour": "#fff"}, "colour")]:
        with session(ENV) as s, pytest.raises(PortalSettingsError, match=f"^{field}:"):
            save_settings(s, bad)


def test_the_cli_prints_a_link_and_revokes_them_in_one_line_each(
        customers: tuple[int, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = customers
    code, out, _ = run(monkeypatch, capsys, "portal", "link", str(a), "--days", "3", "--json")
    assert code == 0
    printed = json.loads(out)
    assert printed["customer"] == a and links.open_link(_token(printed["url"])).organisation_id == a
    code, out, _ = run(monkeypatch, capsys, "portal", "revoke", str(a))
    assert code == 0 and "withdrawn" in out
    with pytest.raises(links.LinkError):
        links.open_link(_token(printed["url"]))
    code, _, err = run(monkeypatch, capsys, "portal", "link", "999999")
    assert code == 1 and err.strip() == "error: customer: no customer 999999 in sandbox"
    code, _, err = run(monkeypatch, capsys, "portal", "link", str(a), "--days", "0")
    assert code == 1 and "days: a link lasts 1 to 366 days, not 0" in err
