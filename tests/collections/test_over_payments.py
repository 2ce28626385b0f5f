"""An over-payment is the customer's credit, kept (issue 19): a card payment the gateway took after the
invoice was paid some other way pays nothing more of it; the surplus is recorded on the charge and
the customer's statement shows it as credit, even once the source shows the invoice paid in full."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from hub.collections import collect
from hub.documents.statements import statement
from hub.platform.db import session
from hub.platform.models import Charge, Invoice
from hub.platform.types import utcnow
from tests.collections.collect_world import ENV, world  # noqa: F401  (fixture)
from tests.collections.reversal_world import PsaCustomer, lost_charge, mail, psa_customer  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("hub_db")


def test_a_card_payment_taken_after_the_invoice_was_paid_otherwise_stays_on_the_statement_as_the_customers_credit(
        psa_customer: PsaCustomer) -> None:
    transaction_id = lost_charge(psa_customer)  # the gateway took 5.00; the hub never heard its answer
    with session(ENV) as s:  # meanwhile the customer paid by bank transfer: the next sync shows the bill paid
        paid = s.execute(select(Invoice).where(Invoice.id == psa_customer.invoice_id)).scalar_one()
        paid.amount_paid, paid.amount_due, paid.status = Decimal("5.00"), Decimal(0), "Paid"

    report = collect.run(ENV, date(2012, 8, 10))

    [row] = report.settled
    assert (row.status, row.transaction_id) == ("approved", transaction_id)
    assert "5.00 GBP beyond what was owed is the customer's credit" in (row.reason or "")
    [taken] = psa_customer.world.transactions("cr-lost-1")  # read back at the gateway: the money was taken
    assert Decimal(str(taken["amount"])) == Decimal("5.00")
    with session(ENV) as s:
        charge = s.execute(select(Charge).where(Charge.key == "cr-lost-1")).scalar_one()
        assert (charge.status, charge.credit) == ("succeeded", Decimal("5.00"))
        # the transfer is dated when the source showed it (its sync: today)
        account = statement(s, psa_customer.organisation_id, utcnow().date(), period_start=date(2012, 8, 1)).statement
    assert (account.invoices, account.payments) == (Decimal("5.00"), Decimal("10.00"))  # the transfer and the card
    assert (account.closing_balance, account.unapplied_credit) == (Decimal("-5.00"), Decimal("5.00"))


def test_a_payment_of_no_more_than_was_owed_leaves_no_credit(psa_customer: PsaCustomer) -> None:
    lost_charge(psa_customer)

    collect.run(ENV, date(2012, 8, 10))

    with session(ENV) as s:
        charge = s.execute(select(Charge).where(Charge.key == "cr-lost-1")).scalar_one()
        assert (charge.status, charge.credit) == ("succeeded", None)
        account = statement(s, psa_customer.organisation_id, utcnow().date(), period_start=date(2012, 8, 1)).statement
    assert (account.payments, account.closing_balance, account.unapplied_credit) == (Decimal("5.00"), 0, 0)
