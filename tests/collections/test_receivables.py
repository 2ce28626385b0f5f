"""Collections and dunning read what is still owed through the one rule: the unpaid list (what
bulk pay and the charge run charge) and a customer's dunning status never disagree."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hub.collections import dunning, unpaid
from hub.platform.db import session
from tests.collections.notify_builders import bms_card, invoice, organisation

DUE = date(2026, 9, 1)


def test_the_unpaid_list_and_dunning_agree_on_what_is_still_owed(hub_db: str) -> None:
    with session("sandbox") as s:
        org = organisation(s, bms_card(s), "1", "Berg GmbH", currency="EUR")
        partly = invoice(s, org, "INV-1", "100.00", DUE)
        partly.amount_due, partly.amount_paid = None, Decimal("30.00")  # the source gives payments only
        invoice(s, org, "INV-2", "50.00", DUE, status="Draft")  # not owed yet
        invoice(s, org, "INV-3", "80.00", DUE, status="Paid")  # a stale amount due on a paid invoice
        invoice(s, org, "INV-4", "40.00", DUE, status="Canceled")
        invoice(s, org, "INV-5", "20.00", DUE, status="Open")
        s.add(partly)
        org_id = org.id

    with session("sandbox") as s:
        listed = {row.number: row.balance for row in unpaid.unpaid_invoices(s)}
        status = dunning.customer_status(s, org_id, DUE + timedelta(days=20))
    dunned = {line["invoice"]: Decimal(line["balance"]) for line in status.invoices}

    assert listed == {"INV-1": Decimal("70.00"), "INV-5": Decimal("20.00")}
    assert dunned == listed
