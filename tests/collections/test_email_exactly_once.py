"""E-mail exactly once: an e-mail the mail server may have taken (the connection lost after the
message went, or the worker killed before recording the server's answer) is never sent again
blindly. Its delivery is *unknown*: listed, and settled by a person (sent, or send again)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from connectors.sandbox.mail import MailSandbox
from hub.collections import notification_settings, notifications
from hub.collections.mailer import SmtpSecurity, SmtpSettings
from hub.collections.outbox import enqueue
from hub.collections.rules import Notification, NotificationType
from hub.platform.db import session
from hub.platform.models import NotificationDelivery, NotificationMessage
from tests.cli.runner import run
from tests.collections.notify_builders import SMTP_FROM, bms_card, contact, organisation
from tests.web.conftest import ADMIN, USER, post_form, web  # noqa: F401  (fixture)


@pytest.fixture
def mail() -> Iterator[MailSandbox]:
    with MailSandbox() as box:
        yield box


def _smtp(box: MailSandbox) -> SmtpSettings:
    return SmtpSettings(host=box.host, port=box.smtp_port, security=SmtpSecurity.NONE, from_address=SMTP_FROM)


def _enqueue(*keys: str) -> None:
    with session("sandbox") as s:
        for kind in NotificationType:
            notification_settings.update_settings(s, kind.value, ticket=False)
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, org, "ina@berg.example.de")
        for key in keys:
            enqueue(s, Notification(type=NotificationType.overdue(1), key=key, customer_name="Berg GmbH",
                                    invoice_number=f"INV-{key}", amount=Decimal("1200.00"), currency="EUR",
                                    due_date=date(2026, 9, 1), days_overdue=16), organisation_id=org.id)


def _faults(box: MailSandbox, **knobs: int) -> None:
    httpx.put(f"{box.url}/_admin/faults", json=knobs, timeout=10).raise_for_status()


def _received(box: MailSandbox) -> Counter[str]:
    return Counter(str(m.message["Message-ID"]) for m in box.messages())


def _email_rows() -> dict[str, tuple[str, int]]:
    with session("sandbox") as s:
        rows = s.execute(select(NotificationMessage.key, NotificationDelivery.status, NotificationDelivery.attempts)
                         .join(NotificationDelivery, NotificationDelivery.notification_id == NotificationMessage.id)
                         .where(NotificationDelivery.channel == "email"))
        return {key: (status, attempts) for key, status, attempts in rows}


def test_an_email_the_server_took_before_the_connection_dropped_is_not_sent_again(hub_db, mail) -> None:
    _enqueue("n-1", "n-2")
    _faults(mail, drop_after_accept=1)  # the first message is queued, then the connection is lost

    first = notifications.deliver("sandbox", smtp=_smtp(mail))
    second = notifications.deliver("sandbox", smtp=_smtp(mail))

    assert [u["key"] for u in first.unknown] == ["n-1"] and [d["key"] for d in first.delivered] == ["n-2"]
    assert "may have been delivered" in first.unknown[0]["error"]
    assert "cashrail notifications resolve n-1" in first.unknown[0]["error"]
    assert second.as_dict() == {"delivered": [], "pending": [], "failed": [], "unknown": [], "busy": False}
    assert sorted(_received(mail).values()) == [1, 1], "an e-mail the server had taken was sent again"
    assert _email_rows() == {"n-1": ("unknown", 1), "n-2": ("sent", 1)}


def test_a_person_settles_an_unknown_email_as_delivered_or_sends_it_again_with_the_same_message_id(
        hub_db, mail, monkeypatch, capsys) -> None:
    _enqueue("n-1", "n-2")
    _faults(mail, drop_after_accept=2)
    notifications.deliver("sandbox", smtp=_smtp(mail))
    assert _email_rows() == {"n-1": ("unknown", 1), "n-2": ("unknown", 1)}

    code, out, _ = run(monkeypatch, capsys, "notifications", "list", "--status", "unknown", "--json")
    assert code == 0 and sorted(n["key"] for n in json.loads(out)) == ["n-1", "n-2"]
    assert run(monkeypatch, capsys, "notifications", "resolve", "n-1", "--sent")[0] == 0
    assert run(monkeypatch, capsys, "notifications", "resolve", "n-2", "--resend")[0] == 0
    report = notifications.deliver("sandbox", smtp=_smtp(mail))

    assert [d["key"] for d in report.delivered] == ["n-2"]
    assert sorted(_received(mail).values()) == [1, 2], "resend sends once more, under the same Message-ID"
    with session("sandbox") as s:
        assert {m.key: m.status for m in s.execute(select(NotificationMessage)).scalars()} == {
            "n-1": "delivered", "n-2": "delivered"}
    code, _, err = run(monkeypatch, capsys, "notifications", "resolve", "n-1", "--resend")
    assert code == 1 and "no e-mail of unknown delivery" in err
    code, _, err = run(monkeypatch, capsys, "notifications", "resolve", "n-9", "--sent")
    assert code == 1 and "no notification 'n-9'" in err
    code, _, err = run(monkeypatch, capsys, "notifications", "resolve", "n-2")
    assert code == 1 and "--sent or --resend" in err


def test_a_refusal_after_the_message_went_is_no_doubt_and_is_retried(hub_db, mail) -> None:
    """A server that answers (4xx) did not take the message: that is not unknown."""
    with session("sandbox") as s:
        for kind in NotificationType:
            notification_settings.update_settings(s, kind.value, ticket=False)
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, org, "busy@berg.example.de")
        enqueue(s, Notification(type=NotificationType.overdue(1), key="n-busy", customer_name="Berg GmbH",
                                invoice_number="INV-1", amount=Decimal("10.00"), currency="EUR",
                                due_date=date(2026, 9, 1), days_overdue=16), organisation_id=org.id)

    report = notifications.deliver("sandbox", smtp=_smtp(mail))

    assert [p["key"] for p in report.pending] == ["n-busy"] and not report.unknown
    assert _email_rows() == {"n-busy": ("pending", 1)}


def test_the_web_app_lists_an_unknown_email_and_an_administrator_settles_it(web, mail) -> None:

    _enqueue("n-1", "n-2")
    _faults(mail, drop_after_accept=2)
    notifications.deliver("sandbox", smtp=_smtp(mail))
    admin, user = web.signed_in(ADMIN), web.signed_in(USER)

    page = admin.get("/notifications?status=unknown").text
    assert "may have been delivered" in page
    assert page.count('action="/notifications/') == 2 and "It was delivered" in page and "data-confirm" in page
    assert "It was delivered" not in user.get("/notifications?status=unknown").text
    refused = user.post("/api/notifications/n-1/resolve", json={"outcome": "sent"},
                        headers={"Authorization": f"Bearer {web.token(USER)}"})
    assert refused.status_code == 403

    done = post_form(admin, "/notifications/n-1/resolve", {"outcome": "sent"}, page="/notifications")
    assert done.status_code == 303  # type: ignore[attr-defined]
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    answer = api.post("/api/notifications/n-2/resolve", json={"outcome": "resend"})
    assert answer.status_code == 200 and answer.json()["email"] == "pending", answer.text
    bad = api.post("/api/notifications/n-2/resolve", json={"outcome": "maybe"})
    assert bad.status_code == 422 and "outcome" in bad.text
    assert api.post("/api/notifications/n-404/resolve", json={"outcome": "sent"}).status_code == 404
    assert _email_rows() == {"n-1": ("sent", 1), "n-2": ("pending", 1)}
