"""The first day an account received more than a billing cycle asked for (the balance block starts
its carried credit there), read by SQL over an account of many invoices paid by the hub's charges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hub.documents.cycles import first_excess_day
from hub.documents.ledger import account
from hub.platform.db import session
from hub.platform.models import Charge, ChargeAllocation, Invoice, Organisation
from tests.documents.seed_world import ENV
from tests.factories import bms_card

START = date(2024, 1, 1)
HALF = Decimal("50.00")


def _account_of_half_paid_invoices(count: int) -> tuple[int, list[Invoice]]:
    """A customer with ``count`` invoices of 100.00, a week apart, each half paid by a hub charge
    the day after its issue; (organisation id, the invoices)."""
    card = bms_card("psa").id
    with session(ENV) as s:
        org = Organisation(environment=ENV, connector_id=card, external_id="X1", content_hash="x",
                           name="Excess Customer", code="EXC", currency="USD")
        s.add(org)
        invoices = [Invoice(environment=ENV, connector_id=card, external_id=f"X{n}", content_hash="x",
                            number=f"X-{n:03d}", organisation_external_id="X1", status="Open",
                            invoice_date=START + timedelta(weeks=n), due_date=START + timedelta(weeks=n, days=14),
                            currency="USD", total=Decimal("100.00"), amount_paid=HALF, amount_due=HALF)
                    for n in range(count)]
        s.add_all(invoices)
        s.flush()
        s.add_all([Charge(environment=ENV, key=f"x-{i.number}", invoice_id=i.id, organisation_id=org.id,
                          amount=HALF, currency="USD", status="succeeded", charged_on=_day(i) + timedelta(days=1),
                          created_at=datetime.combine(_day(i), datetime.min.time(), tzinfo=UTC))
                   for i in invoices])
        s.flush()
        s.expunge_all()  # the invoices' columns stay readable after the session
        assert org.id is not None
        return org.id, invoices


def _day(invoice: Invoice) -> date:
    assert invoice.invoice_date is not None
    return invoice.invoice_date


def _split_charge(org: int, key: str, parts: list[tuple[Invoice, Decimal]]) -> None:
    """One succeeded charge (a second attempt) of the parts' sum on the first part's invoice, split
    over the parts' invoices, taken the day after the last of them was issued."""
    day = max(_day(i) for i, _ in parts) + timedelta(days=1)
    with session(ENV) as s:
        charge = Charge(environment=ENV, key=key, invoice_id=parts[0][0].id, organisation_id=org, attempt=2,
                        amount=sum((amount for _, amount in parts), Decimal(0)), currency="USD", status="succeeded",
                        charged_on=day, created_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC))
        s.add(charge)
        s.flush()
        assert charge.id is not None
        s.add_all([ChargeAllocation(environment=ENV, charge_id=charge.id, invoice_id=i.id, amount=amount)
                   for i, amount in parts])


def _excess_day(org: int, as_of: date) -> date | None:
    with session(ENV) as s:
        return first_excess_day(s, account(s, org), as_of)


def test_an_invoice_over_paid_by_its_part_of_a_split_charge_among_many_sets_the_first_excess_day(
        hub_db: str) -> None:
    org, invoices = _account_of_half_paid_invoices(40)
    over, next_one = invoices[25], invoices[26]
    _split_charge(org, "x-split", [(over, HALF + Decimal("0.01")), (next_one, HALF)])
    last = _day(invoices[-1])
    assert _excess_day(org, last) == _day(over)
    assert _excess_day(org, _day(over) - timedelta(days=1)) is None


def test_a_charge_split_over_two_invoices_over_pays_neither_when_each_part_fits_its_invoice(hub_db: str) -> None:
    org, invoices = _account_of_half_paid_invoices(40)
    # the charge (100.00) is twice what its own invoice still owed: its parts pay two invoices
    _split_charge(org, "x-split", [(invoices[10], HALF), (invoices[11], HALF)])
    assert _excess_day(org, _day(invoices[-1])) is None


def test_an_invoice_the_source_shows_paid_beyond_its_total_sets_the_first_excess_day(hub_db: str) -> None:
    org, invoices = _account_of_half_paid_invoices(40)
    with session(ENV) as s:
        over = s.get(Invoice, invoices[30].id)
        assert over is not None
        over.amount_paid, over.amount_due = Decimal("100.01"), Decimal("-0.01")
    assert _excess_day(org, _day(invoices[-1])) == _day(invoices[30])
