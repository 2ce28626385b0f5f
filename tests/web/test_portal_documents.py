"""The customer's documents on the portal: seed 001's balance block in the mode of the billing
configuration, the statement as of a date with its PDF, and the invoice's image — for the
customer of the link only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from hub.documents import settings as document_settings
from hub.platform.db import session
from hub.platform.models import Organisation
from hub.portal import links
from tests.documents.seed_world import ENV, SEED_1033, SEED_1034, seed_customer
from tests.web.conftest import Web

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)

ROWS = ("Previous Balance", "Payments/Adjustments", "Current Charges", "Amount Due")


@pytest.fixture
def client(web: Web) -> Iterator[TestClient]:
    yield web.client()


def link_of(org: int) -> str:
    with session(ENV) as s:
        return "/portal/" + links.issue(s, org).token


def balance_of(html: str) -> tuple[str, str, tuple[Decimal, ...]]:
    """(invoice number, mode, the four rows' amounts) of the page's balance block."""
    block = re.search(r'<table class="balance" id="balance" data-mode="(\w+)" data-invoice="([^"]+)">(.*?)</table>',
                      html, re.S)
    assert block, "the page has no balance block"
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^ <]+) USD</td>', block.group(3)))
    return block.group(2), block.group(1), tuple(Decimal(rows[label].replace(",", "")) for label in ROWS)


def set_mode(mode: str) -> None:
    with session(ENV) as s:
        document_settings.update(s, balance_mode=mode, effective_from=date(2012, 1, 1), actor="tests")


@pytest.mark.parametrize("mode", ["dynamic", "static", "batch"])
def test_the_portal_shows_the_seeds_three_tables_in_the_mode_of_the_billing_configuration(
        client: TestClient, mode: str) -> None:
    org, ids = seed_customer()
    set_mode(mode)
    base = link_of(org)
    for as_of, number, table in (("2012-08-10", "1033", SEED_1033), ("2012-09-05", "1034", SEED_1034)):
        page = client.get(f"{base}/statements", params={"as_of": as_of})
        assert page.status_code == 200, page.text
        assert balance_of(page.text) == (number, mode, tuple(Decimal(v) for v in table[mode])), (as_of, mode)
    # each invoice's own page shows its block as it stands today: #1033 after the $75, #1034 after nothing more
    for number, table in (("1033", SEED_1033), ("1034", SEED_1034)):
        page = client.get(f"{base}/invoices/{ids[number]}")
        assert page.status_code == 200
        assert balance_of(page.text) == (number, mode, tuple(Decimal(v) for v in table[mode])), (number, mode)


def test_the_statement_shows_opening_lines_closing_and_aging_and_downloads_as_a_pdf(client: TestClient) -> None:
    org, _ = seed_customer()
    base = link_of(org)
    page = client.get(f"{base}/statements", params={"as_of": "2012-09-05"})
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert re.search(r'id="opening">.*?<td data-label="Balance" class="num">25.00</td>', text)
    assert re.search(r'id="closing">.*?<strong>125.00</strong>', text)
    assert re.findall(r'data-bucket="(\w+)" class="num">([\d.,]+)<', text) == [
        ("current", "100.00"), ("days_1_30", "25.00"), ("days_31_60", "0.00"), ("days_61_90", "0.00"),
        ("over_90", "0.00")]
    assert 'data-kind="invoice"' in text and "1034" in text
    pdf = client.get(f"{base}/statements/pdf", params={"as_of": "2012-09-05"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-disposition"] == 'attachment; filename="statement-2012-09-05.pdf"'


@pytest.mark.parametrize("as_of, words", [("yesterday", "is not a date"), ("2999-01-01", "or earlier")])
def test_a_statement_date_that_is_no_date_or_in_the_future_gets_a_clear_error(
        client: TestClient, as_of: str, words: str) -> None:
    org, _ = seed_customer()
    base = link_of(org)
    for path in ("/statements", "/statements/pdf"):
        answer = client.get(base + path, params={"as_of": as_of})
        assert answer.status_code == 400 and "as_of" in answer.text and words in answer.text, path


def test_the_invoice_pdf_is_the_customers_own_and_another_customers_is_not_found(client: TestClient) -> None:
    org, ids = seed_customer()
    with session(ENV) as s:
        seed = s.get(Organisation, org)
        assert seed is not None
        other = Organisation(environment=ENV, connector_id=seed.connector_id, external_id="78", content_hash="x",
                             name="Other Customer", currency="USD")
        s.add(other)
        s.flush()
        other_id = other.id
    assert other_id is not None
    own = client.get(f"{link_of(org)}/invoices/{ids['1033']}/pdf")
    assert own.status_code == 200 and own.content.startswith(b"%PDF-")
    assert own.headers["content-disposition"] == 'attachment; filename="invoice-1033.pdf"'
    foreign = client.get(f"{link_of(other_id)}/invoices/{ids['1033']}/pdf")
    assert foreign.status_code == 404 and b"%PDF" not in foreign.content and "Seed Customer" not in foreign.text
    assert client.get(f"{link_of(other_id)}/statements").status_code == 200  # its own statement: nothing on it


def test_the_pay_links_of_overdue_notices_card_warnings_and_statements_open_that_customers_portal(
        client: TestClient) -> None:
    from hub.collections import dunning
    from hub.collections.outbox import notification_of
    from hub.documents import mailing
    from hub.platform.models import NotificationMessage, PaymentMethod

    org, _ = seed_customer()
    with session(ENV) as s:
        s.add(PaymentMethod(environment=ENV, organisation_id=org, kind="card", card_brand="VISA", card_last4="4242",
                            card_exp_month=9, card_exp_year=2012, vaulted_shopper_id="vs-seed", status="active"))
    dunning.run(ENV, date(2012, 9, 30))
    mailing.send_statements(ENV, date(2012, 8, 31))
    with session(ENV) as s:
        sent = {m.key: notification_of(m) for m in s.exec(select(NotificationMessage))}
    kinds = {key.split(":")[0].split("/")[0] for key in sent}
    assert {"overdue", "card_expiring", "statement"} <= kinds, sorted(sent)
    for key, notification in sent.items():
        assert notification.pay_link, f"{key} has no pay link"
        page = client.get("/" + notification.pay_link.split("://", 1)[1].split("/", 1)[1])
        assert page.status_code == 200, key
        assert "Seed Customer" in page.text and ("1034" in page.text or "Payment methods" in page.text), key


@pytest.mark.parametrize("mode", ["dynamic", "static", "batch"])
def test_the_mailed_statement_has_the_portals_figures_and_is_the_portals_pdf(client: TestClient, mode: str) -> None:
    from hub.documents import mailing
    from hub.platform.models import NotificationAttachment, NotificationMessage

    org, _ = seed_customer()
    set_mode(mode)
    as_of = date(2012, 9, 30)  # seed 001's September: opening $25, invoice 1034, no payment yet
    report = mailing.send_statements(ENV, as_of)
    assert [e["closing_balance"] for e in report.enqueued] == ["125.00"]
    with session(ENV) as s:
        mailed = s.exec(select(NotificationAttachment.content).join(
            NotificationMessage, NotificationMessage.id == NotificationAttachment.notification_id).where(
            NotificationMessage.key == mailing.statement_key(org, as_of))).one()
    base = link_of(org)
    page = client.get(f"{base}/statements", params={"as_of": as_of.isoformat()})
    assert page.status_code == 200 and balance_of(page.text)[1] == mode
    assert re.search(r'id="closing">.*?<strong>125.00</strong>', re.sub(r"\s+", " ", page.text))
    portal = client.get(f"{base}/statements/pdf", params={"as_of": as_of.isoformat()})
    assert portal.status_code == 200
    # the same statement, block and sender: byte for byte the PDF the customer downloads (WeasyPrint's is deterministic)
    assert mailed == portal.content
