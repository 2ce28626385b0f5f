"""The customer portal over a signed link: a customer sees and pays its own invoices, never
another customer's; a changed, expired or withdrawn link shows nothing; forms need the link's
CSRF token; the pages send the security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from connectors.sandbox.bluesnap import fill_card_form
from hub.collections import notifications
from hub.collections.mailer import SmtpSecurity, SmtpSettings
from hub.platform.db import session
from hub.platform.models import Invoice, NotificationMessage, PaymentMethod
from hub.platform.types import utcnow
from hub.portal import links
from hub.portal.settings import save_settings
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice, world  # noqa: F401
from tests.web.conftest import Web

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)


@pytest.fixture
def two(world: World) -> dict[str, int]:
    """Customer A (two open invoices, a card on file) and customer B (one open invoice)."""
    a, a_contact = customer(world, "1", "Alpha Ltd")
    b, _ = customer(world, "2", "Beta Ltd")
    return {"a": a, "a_contact": a_contact, "b": b, "a1": invoice(world, "1", "2"),
            "a2": invoice(world, "1", "3", amount="40.00"), "b1": invoice(world, "2", "4", amount="77.00")}


@pytest.fixture
def client(web: Web) -> Iterator[TestClient]:
    yield web.client()


def link_of(org: int, days: int | None = None) -> str:
    with session(ENV) as s:
        return "/portal/" + links.issue(s, org, days=days).token


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def test_a_link_shows_its_customers_open_invoices_and_nobody_elses(client: TestClient, two: dict[str, int]) -> None:
    page = client.get(link_of(two["a"]))
    assert page.status_code == 200
    assert "Alpha Ltd" in page.text and "INV-2" in page.text and "INV-3" in page.text
    assert "Beta Ltd" not in page.text and "INV-4" not in page.text
    assert "140.00 GBP due" in page.text
    for header, value in {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                          "Referrer-Policy": "same-origin"}.items():
        assert page.headers[header] == value
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]


def test_changing_ids_in_the_url_never_shows_or_pays_another_customers_invoice(
        client: TestClient, two: dict[str, int], world: World) -> None:
    capture_card(two["a"], two["a_contact"])
    base = link_of(two["a"])
    own = client.get(f"{base}/invoices/{two['a1']}")
    assert own.status_code == 200 and "INV-2" in own.text
    other = client.get(f"{base}/invoices/{two['b1']}")
    missing = client.get(f"{base}/invoices/999999")
    assert other.status_code == missing.status_code == 404
    assert "INV-4" not in other.text and "Beta" not in other.text and "77.00" not in other.text
    token = form_token(client.get(base).text)
    answer = client.post(f"{base}/pay", data={"csrf_token": token, "invoice": [str(two["a1"]), str(two["b1"])],
                                              "how": "card_on_file"}, follow_redirects=False)
    assert answer.status_code == 404 and "INV-4" not in answer.text
    assert world.transactions() == []  # nothing charged, not even A's own invoice


def _expired(org: int) -> str:
    with session(ENV) as s:
        return "/portal/" + links.issue(s, org, days=1, now=utcnow() - timedelta(days=2)).token


@pytest.mark.parametrize("spoil", ["tampered", "expired", "revoked", "other environment"])
def test_a_spoilt_link_gets_a_clear_page_and_no_data(client: TestClient, two: dict[str, int], spoil: str) -> None:
    base = link_of(two["a"], days=1)
    token = base.removeprefix("/portal/")
    url = base
    if spoil == "tampered":
        url = f"/portal/{token[:-2]}{'zz' if token.endswith('xy') else 'xy'}"
    elif spoil == "expired":
        url = _expired(two["a"])
    elif spoil == "revoked":
        with session(ENV) as s:
            links.revoke(s, two["a"])
    else:
        raw = links._unb64(token.split(".")[0]).decode().replace("|sandbox|", "|production|")
        url = f"/portal/{links._b64(raw.encode())}.{token.split('.')[1]}"
    for path in ("", f"/invoices/{two['a1']}", "/methods"):
        answer = client.get(url + path)
        assert answer.status_code == 403
        assert "This link cannot be opened" in answer.text
        assert "Alpha" not in answer.text and "INV-" not in answer.text and "GBP" not in answer.text
        assert answer.headers["X-Frame-Options"] == "DENY"
    expected = {"tampered": "not valid", "expired": "expired", "revoked": "withdrawn", "other environment": "not valid"}
    assert expected[spoil] in client.get(url).text


def test_a_form_without_the_links_token_is_refused_and_charges_nothing(
        client: TestClient, two: dict[str, int], world: World) -> None:
    capture_card(two["a"], two["a_contact"])
    base = link_of(two["a"])
    other_token = form_token(client.get(link_of(two["b"])).text)  # another link's token is no good either
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": other_token}):
        answer = client.post(f"{base}/pay", data={**data, "invoice": str(two["a1"]), "how": "card_on_file"})
        assert answer.status_code == 403 and "security token" in answer.text
    assert world.transactions() == []


def test_the_customer_pays_two_invoices_with_the_card_on_file_and_gets_a_receipt(
        client: TestClient, two: dict[str, int], world: World) -> None:
    from connectors.sandbox.mail import MailSandbox

    capture_card(two["a"], two["a_contact"])
    base = link_of(two["a"])
    page = client.get(base)
    assert "Pay selected with VISA ending 1111" in page.text
    done = client.post(f"{base}/pay", data={"csrf_token": form_token(page.text), "how": "card_on_file",
                                            "invoice": [str(two["a1"]), str(two["a2"])]})
    assert done.status_code == 200 and "Thank you: 140.00 GBP paid (INV-2, INV-3)" in done.text
    [charged] = world.transactions()  # one payment over both, read back from the gateway
    assert Decimal(str(charged["amount"])) == Decimal("140.00") and charged["currency"] == "GBP"
    paid = client.get(f"{base}?state=paid")
    assert 'data-number="INV-2"' in paid.text and 'data-number="INV-3"' in paid.text
    assert "Nothing due" in paid.text
    with session(ENV) as s:
        assert {i.status for i in s.query(Invoice).filter(Invoice.id.in_([two["a1"], two["a2"]]))} == {"Paid"}
        receipt = s.query(NotificationMessage).filter(NotificationMessage.type == "payment_succeeded").one()
    assert receipt.organisation_id == two["a"]
    with MailSandbox() as mail:
        smtp = SmtpSettings(host=mail.host, port=mail.smtp_port, security=SmtpSecurity.NONE,
                            from_address="billing@firm.example")
        notifications.deliver(ENV, smtp=smtp)
        [sent] = [m for m in mail.messages() if m.message["Subject"].startswith("Payment received")]
    assert sent.rcpt_tos == ("ada@1.example",)


def test_the_customer_pays_with_a_new_card_entered_on_the_gateways_page(
        client: TestClient, two: dict[str, int], world: World) -> None:
    base = link_of(two["a"])
    page = client.get(base)
    assert "Pay selected with VISA" not in page.text  # no card on file yet
    step = client.post(f"{base}/pay", data={"csrf_token": form_token(page.text), "how": "new_card",
                                            "invoice": [str(two["a2"])]})
    assert step.status_code == 200 and "INV-3: 40.00 GBP" in step.text
    card_page = re.search(r'id="card-page" href="([^"]+)"', step.text).group(1)  # type: ignore[union-attr]
    assert card_page.startswith(world.gateway.url)  # the card goes to the gateway, never through Cashrail
    finish = re.search(r'<form method="post" action="([^"]+)" id="card-done"', step.text).group(1)  # type: ignore[union-attr]
    early = client.post(finish, data={"csrf_token": form_token(step.text), "invoice": str(two["a2"])})
    assert early.status_code == 400 and "has not entered a card" in early.text
    fill_card_form(card_page, "5555555555554444", "Ada Lovelace", "11/31", "123")
    done = client.post(finish, data={"csrf_token": form_token(step.text), "invoice": str(two["a2"])})
    assert "Thank you: 40.00 GBP paid (INV-3)" in done.text
    assert [Decimal(str(t["amount"])) for t in world.transactions()] == [Decimal("40.00")]
    with session(ENV) as s:
        method = s.query(PaymentMethod).filter(PaymentMethod.status == "active").one()
    assert (method.organisation_id, method.card_last4) == (two["a"], "4444")
    assert "MASTERCARD ending 4444" in client.get(f"{base}/methods").text
    # B's link cannot finish A's card entry
    b_base = link_of(two["b"])
    b_token = form_token(client.get(b_base).text)
    stolen = client.post(finish.replace(base, b_base), data={"csrf_token": b_token})
    assert stolen.status_code == 404


def test_search_and_paging_of_a_customers_invoices(client: TestClient, two: dict[str, int], world: World) -> None:
    for n in range(30):
        invoice(world, "1", f"9{n:02d}", amount="1.00", due=date(2013, 1, 1) + timedelta(days=n))
    base = link_of(two["a"])
    first = client.get(base)
    assert "Page 1 of 2 (32 invoices)" in first.text and first.text.count('name="invoice"') == 25
    second = client.get(f"{base}?page=2")
    assert second.text.count('name="invoice"') == 7 and 'data-number="INV-929"' in second.text
    found = client.get(f"{base}?q=INV-91")
    assert re.findall(r'data-number="([^"]+)"', found.text) == [f"INV-91{n}" for n in range(10)]
    assert "No invoice number contains" in client.get(f"{base}?q=nothing-like-it").text
    assert "No paid invoices yet" in client.get(f"{base}?state=paid").text


def test_autopay_is_switched_off_and_on_by_the_customer(client: TestClient, two: dict[str, int]) -> None:
    capture_card(two["a"], two["a_contact"])
    base = link_of(two["a"])
    page = client.get(f"{base}/methods")
    assert 'id="autopay-state">on<' in page.text
    off = client.post(f"{base}/autopay", data={"csrf_token": form_token(page.text), "autopay": "off"})
    assert "Autopay is off" in off.text and 'id="autopay-state">off<' in off.text
    with session(ENV) as s:
        assert s.query(PaymentMethod).filter(PaymentMethod.status == "active").one().autopay is False
    on = client.post(f"{base}/autopay", data={"csrf_token": form_token(page.text), "autopay": "on"})
    assert 'id="autopay-state">on<' in on.text


def test_part_of_an_invoice_is_paid_only_where_the_firm_allows_it(
        client: TestClient, two: dict[str, int], world: World) -> None:
    capture_card(two["a"], two["a_contact"])
    base = link_of(two["a"])
    token = form_token(client.get(base).text)
    data = {"csrf_token": token, "how": "card_on_file", "invoice": str(two["a1"]), f"amount_{two['a1']}": "25.00"}
    refused = client.post(f"{base}/pay", data=data)
    assert refused.status_code == 400 and "paid in full here" in refused.text and world.transactions() == []
    with session(ENV) as s:
        save_settings(s, {"partial_payments": True})
    assert f'name="amount_{two["a1"]}"' in client.get(base).text
    too_much = client.post(f"{base}/pay", data={**data, f"amount_{two['a1']}": "100.01"})
    assert "at most the 100.00 GBP owed" in too_much.text and world.transactions() == []
    done = client.post(f"{base}/pay", data=data)
    assert "Thank you: 25.00 GBP paid (INV-2)" in done.text
    assert [Decimal(str(t["amount"])) for t in world.transactions()] == [Decimal("25.00")]
    assert 'id="still-owed">75.00 GBP' in client.get(f"{base}/invoices/{two['a1']}").text


def test_an_administrator_makes_and_withdraws_a_portal_link_on_the_customer_page_and_the_api(
        web: Web, two: dict[str, int]) -> None:
    from tests.web.conftest import post_form

    admin = web.signed_in()
    page = admin.get(f"/customers/{two['a']}")
    assert 'id="portal-link"' in page.text
    made = post_form(admin, f"/customers/{two['a']}/portal-link", {"days": "5"}, page=f"/customers/{two['a']}")
    shown = admin.get(made.headers["location"]).text  # type: ignore[attr-defined]
    url = re.search(r"http://127\.0\.0\.1:8000(/portal/[^<\s]+)", shown).group(1)  # type: ignore[union-attr]
    customer_view = web.client()
    assert "Alpha Ltd" in customer_view.get(url).text
    post_form(admin, f"/customers/{two['a']}/portal-link/revoke", page=f"/customers/{two['a']}")
    assert customer_view.get(url).status_code == 403

    api = web.client()
    headers = {"Authorization": f"Bearer {web.token()}"}
    made_json = api.post(f"/api/customers/{two['b']}/portal-link", json={"days": 2}, headers=headers)
    assert made_json.status_code == 201
    assert "Beta Ltd" in customer_view.get(made_json.json()["url"].removeprefix("http://127.0.0.1:8000")).text
    assert api.post(f"/api/customers/{two['b']}/portal-link", json={"days": 0}, headers=headers).status_code == 422
    missing = api.post("/api/customers/999999/portal-link", json={}, headers=headers)
    assert missing.status_code == 400 and "no customer 999999" in missing.json()["detail"]
    assert api.post(f"/api/customers/{two['b']}/portal-link/revoke", headers=headers).json()["link_version"] == 1
    assert customer_view.get(made_json.json()["url"].removeprefix("http://127.0.0.1:8000")).status_code == 403


def test_branding_comes_from_the_portal_settings(web: Web, client: TestClient, two: dict[str, int]) -> None:
    api = web.client()
    headers = {"Authorization": f"Bearer {web.token()}"}
    saved = api.patch("/api/settings/portal", headers=headers, json={
        "brand_name": "Northwind IT", "primary_colour": "#AA3300", "logo_url": "https://northwind.example/logo.png"})
    assert saved.status_code == 200 and saved.json()["primary_colour"] == "#aa3300"
    bad = api.patch("/api/settings/portal", headers=headers, json={"primary_colour": "red"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("primary_colour:")
    page = client.get(link_of(two["a"]))
    assert 'id="brand-name">Northwind IT<' in page.text and 'src="https://northwind.example/logo.png"' in page.text
    assert "--brand: #aa3300" in client.get("/portal/_brand/sandbox.css").text
    assert "img-src 'self' data: https:" in page.headers["Content-Security-Policy"]
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text  # phones


def test_where_the_firm_requires_it_a_code_e_mailed_to_a_contact_opens_the_link_in_that_browser_only(
        web: Web, client: TestClient, two: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors.sandbox.mail import MailSandbox

    with session(ENV) as s:
        save_settings(s, {"require_code": True})
    base = link_of(two["a"])
    asked = client.get(base, follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == f"{base}/code"
    assert client.get(f"{base}/invoices/{two['a1']}", follow_redirects=False).status_code == 303
    page = client.get(f"{base}/code")
    assert "a••@1.example" in page.text and "ada@1.example" not in page.text and "INV-" not in page.text
    token = form_token(page.text)
    with MailSandbox() as mail:
        for name, value in {"HOST": mail.host, "PORT": str(mail.smtp_port), "SECURITY": "none",
                            "FROM_ADDRESS": "billing@firm.example"}.items():
            monkeypatch.setenv(f"CASHRAIL_SMTP_{name}", value)
        sent = client.post(f"{base}/code/send", data={"csrf_token": token, "contact": str(two["a_contact"])})
        assert "We e-mailed a code to a••@1.example" in sent.text
        [mail_in] = mail.messages()
    assert mail_in.rcpt_tos == ("ada@1.example",)
    code = re.search(r"\b(\d{6})\b", mail_in.message["Subject"]).group(1)  # type: ignore[union-attr]
    wrong = client.post(f"{base}/code", data={"csrf_token": token, "code": "000000" if code != "000000" else "111111"})
    assert "That is not the code we sent; 4 tries left" in wrong.text
    with session(ENV) as s:  # the code is no PSA ticket, and only its hash is stored
        from hub.platform.models import NotificationDelivery, PortalCode

        assert {d.channel: d.status for d in s.query(NotificationDelivery)} == {"email": "sent", "ticket": "skipped"}
        assert code not in s.query(PortalCode).one().code_hash
    opened = client.post(f"{base}/code", data={"csrf_token": token, "code": code})
    assert "Alpha Ltd" in opened.text and "INV-2" in opened.text
    assert "No code is waiting" in client.post(f"{base}/code", data={"csrf_token": token, "code": code}).text
    other_browser = web.client()
    assert other_browser.get(base, follow_redirects=False).status_code == 303  # the cookie is this browser's
    b_contact = client.post(f"{base}/code/send", data={"csrf_token": token, "contact": "999999"})
    assert b_contact.status_code == 404


def test_codes_are_throttled_and_die_after_too_many_wrong_tries(two: dict[str, int]) -> None:
    from hub.portal import codes

    with session(ENV) as s:
        for _ in range(codes.MAX_CODES):
            codes.new_code(s, two["a"], two["a_contact"])
        with pytest.raises(codes.CodeThrottled, match="ask again in 15 minutes"):
            codes.new_code(s, two["a"], two["a_contact"])
        assert codes.new_code(s, two["a"], two["a_contact"], now=utcnow() + codes.WINDOW)  # later: again
    with session(ENV) as s:
        _, code = codes.new_code(s, two["b"], two["a_contact"])
    for _ in range(codes.MAX_ATTEMPTS):
        with session(ENV) as s, pytest.raises(codes.CodeError):
            codes.check_code(s, two["b"], "x")
    with session(ENV) as s, pytest.raises(codes.CodeError, match="no code is waiting"):
        codes.check_code(s, two["b"], code)  # even the right code: too many wrong tries
    with session(ENV) as s:
        _, late = codes.new_code(s, two["b"], two["a_contact"])
    with session(ENV) as s, pytest.raises(codes.CodeError, match="no code is waiting"):
        codes.check_code(s, two["b"], late, now=utcnow() + timedelta(minutes=codes.CODE_MINUTES, seconds=1))
