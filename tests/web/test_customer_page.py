"""The customer page (issue 23): its systems' ids with links into each system, contacts with the
billing contact marked, payment methods and mandates, invoices with what is still owed, payments,
notifications and tickets, and a timeline newest first."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from hub.platform import audit
from hub.platform.db import session
from hub.platform.models import (
    Charge,
    Contact,
    Invoice,
    InvoiceCollection,
    NotificationDelivery,
    NotificationMessage,
    Organisation,
    OrganisationLink,
    PaymentMethod,
    Ticket,
)
from tests.factories import bms_card, erp_card
from tests.web.conftest import Web

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)
ENV = "sandbox"


def _section(html: str, name: str) -> str:
    found = re.search(rf'<section class="panel" id="{name}">.*?</section>', html, re.S)
    assert found, f"no section {name}"
    return found.group(0)


@pytest.fixture
def acme(web: Web) -> int:
    psa, erp = bms_card("psa", url="https://api.bms.kaseya.com"), erp_card("erp")
    t0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    with session(ENV) as s:
        p = Organisation(environment=ENV, connector_id=psa.id, external_id="77", content_hash="x", name="Acme")
        e = Organisation(environment=ENV, connector_id=erp.id, external_id="guid-1", content_hash="x", name="ACME Ltd",
                         code="C00010")
        s.add_all([p, e])
        s.flush()
        s.add(OrganisationLink(environment=ENV, psa_organisation_id=p.id, erp_organisation_id=e.id, method="name",
                               detail="acme", created_at=t0))
        s.add_all([Contact(environment=ENV, connector_id=psa.id, external_id="c1", content_hash="x",
                           organisation_external_id="77", first_name="Ada", last_name="Lovelace",
                           email="ada@acme.example", is_billing_contact=True),
                   Contact(environment=ENV, connector_id=psa.id, external_id="c2", content_hash="x",
                           organisation_external_id="77", first_name="Bob", last_name="Smith")])
        s.add(PaymentMethod(environment=ENV, organisation_id=e.id, kind="direct_debit", mandate_reference="MD-1",
                            account_last4="4321", status="removed", created_at=t0, removed_at=t0 + timedelta(days=1)))
        s.add(PaymentMethod(environment=ENV, organisation_id=e.id, kind="card", card_brand="VISA", card_last4="1111",
                            card_exp_month=12, card_exp_year=2030, created_at=t0 + timedelta(days=1)))
        inv = Invoice(environment=ENV, connector_id=erp.id, external_id="inv-1", content_hash="x", number="103001",
                      organisation_external_id="guid-1", status="Open", invoice_date=date(2026, 11, 2),
                      due_date=date(2026, 11, 16), currency="EUR", total=Decimal("120.00"), amount_due=Decimal("120.00"))
        s.add(inv)
        s.flush()
        s.add(InvoiceCollection(environment=ENV, invoice_id=inv.id, organisation_id=e.id,
                                amount_collected=Decimal("20.00")))
        s.add(Charge(environment=ENV, key="ch1", invoice_id=inv.id, organisation_id=e.id, amount=Decimal("100.00"),
                     currency="EUR", status="declined", decline_name="CARD_LOST_OR_STOLEN", hard_decline=True,
                     created_at=t0 + timedelta(days=20)))
        note = NotificationMessage(environment=ENV, key="n1", type="payment_declined", organisation_id=e.id,
                                   invoice_id=inv.id, status="delivered", created_at=t0 + timedelta(days=21))
        s.add(note)
        s.flush()
        s.add(NotificationDelivery(environment=ENV, notification_id=note.id, channel="ticket", key="n1-t",
                                   status="sent", external_ref="T-900"))
        s.add(Ticket(environment=ENV, connector_id=psa.id, external_id="900", content_hash="x", number="T-900",
                     title="Payment declined for 103001", organisation_external_id="77", status="New",
                     opened_at=t0 + timedelta(days=21, hours=1)))
        audit.record(s, "payment_method.set", "organisation", e.id, actor="admin@example.com")
        return p.id  # type: ignore[return-value]


def test_the_customer_page_shows_every_system_and_what_happened(web: Web, acme: int) -> None:
    html = web.signed_in().get(f"/customers/{acme}").text
    systems = _section(html, "systems")
    assert 'href="https://bms.kaseya.com/react/crm/accounts/77"' in systems  # the PSA account in BMS
    assert ("https://businesscentral.dynamics.com/t/production?company=CRONUS&amp;page=21&amp;filter=%27No.%27%20IS"
            "%20%27C00010%27") in systems  # the ERP customer card in Business Central
    assert "VISA ending 1111 (12/2030)" in systems  # the gateway side
    assert re.search(r"Ada Lovelace.*?billing", html, re.S) and not re.search(r"Bob Smith</td>.*?billing</span>.*?Ada",
                                                                                html, re.S)
    methods = _section(html, "methods-history")
    assert "MD-1" in methods and "removed" in methods and "VISA ending 1111" in methods
    invoices = _section(html, "invoices")
    assert re.search(r"103001.*?120\.00 EUR</td><td class=\"num owed\">100\.00", invoices, re.S)  # 120 less 20 collected
    payments = _section(html, "payments")
    assert "CARD_LOST_OR_STOLEN" in payments and "hard decline" in payments
    assert "payment_declined" in _section(html, "notifications") and "ticket: sent (T-900)" in html
    assert "Payment declined for 103001" in _section(html, "tickets")
    timeline = re.findall(r'<li data-kind="([a-z]+)"><time>([^<]+)</time>', _section(html, "timeline"))
    kinds = [k for k, _ in timeline]
    assert kinds[0] == "audit" and {"ticket", "notification", "payment", "invoice", "link"} <= set(kinds)
    stamps = [t for _, t in timeline]
    assert stamps == sorted(stamps, reverse=True)  # newest first


def test_the_erp_side_opens_the_same_customer(web: Web, acme: int) -> None:
    with session(ENV) as s:
        erp_side = s.get(OrganisationLink, 1).erp_organisation_id  # type: ignore[union-attr]
    html = web.signed_in().get(f"/customers/{erp_side}").text
    assert re.findall(r"<tr data-role=\"([a-z]+)\">", _section(html, "systems")) == ["psa", "erp", "gateway"]
    assert "103001" in _section(html, "invoices")
