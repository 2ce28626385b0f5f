"""Seed 001's worked example in the hub: a customer billed $100 on 8/5/2012 (invoice #1033, due
8/10), paying $75 of it on 8/10 through the gateway, billed $100 again on 9/5 (#1034)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hub.collections import receivables
from hub.platform.db import session
from hub.platform.models import Charge, Contact, Invoice, InvoiceCollection, Organisation
from tests.factories import bms_card

ENV = "sandbox"

# the seed's three tables, column by column: (Previous Balance, Payments/Adjustments, Current Charges, Amount Due)
SEED_1033 = {"dynamic": ("0", "75.00", "100.00", "25.00"), "static": ("0", "0", "100.00", "100.00"),
             "batch": ("0", "0", "100.00", "100.00")}
SEED_1034 = {"dynamic": ("0", "0", "100.00", "100.00"), "static": ("0", "0", "100.00", "100.00"),
             "batch": ("100.00", "75.00", "100.00", "125.00")}


def seed_customer(url: str = "http://127.0.0.1:9", *, card_id: int | None = None) -> tuple[int, dict[str, int]]:
    """(organisation id, {invoice number: hub invoice id}) of the worked example."""
    card = card_id or bms_card("psa", url=url).id
    with session(ENV) as s:
        org = Organisation(environment=ENV, connector_id=card, external_id="77", content_hash="x",
                           name="Seed Customer", code="SEED", currency="USD")
        contact = Contact(environment=ENV, connector_id=card, external_id="c-77", content_hash="x",
                          organisation_external_id="77", first_name="Bill", last_name="Payer",
                          email="bill@seed.example", is_billing_contact=True)
        ids = {}
        invoices = []
        for number, issued, due, ext in (("1033", date(2012, 8, 5), date(2012, 8, 10), "1033"),
                                         ("1034", date(2012, 9, 5), date(2012, 9, 10), "1034")):
            row = Invoice(environment=ENV, connector_id=card, external_id=ext, content_hash="x", number=number,
                          organisation_external_id="77", status="Open", invoice_date=issued, due_date=due,
                          currency="USD", total=Decimal("100.00"), amount_due=Decimal("100.00"),
                          amount_paid=Decimal(0))
            invoices.append(row)
        s.add_all([org, contact, *invoices])
        s.flush()
        first = invoices[0]
        collection = InvoiceCollection(environment=ENV, invoice_id=first.id, organisation_id=org.id)  # type: ignore[arg-type]
        s.add(collection)
        s.add(Charge(environment=ENV, key="seed-1033-1", invoice_id=first.id, organisation_id=org.id,  # type: ignore[arg-type]
                     amount=Decimal("75.00"), currency="USD", status="succeeded", transaction_id="T-75",
                     charged_on=date(2012, 8, 10), created_at=datetime(2012, 8, 10, 12, tzinfo=UTC)))
        receivables.take_payment(first, collection, Decimal("75.00"))
        ids = {inv.number: inv.id for inv in invoices}
        return org.id, ids  # type: ignore[return-value]
