"""The balance block read from the cycles a mode needs, and the statement read from its period
(SQL aggregates for the rest of the account: opening balance, aging), are what the whole account
gives: for seed 001's example and for randomized accounts (partial,
exact and over-payments (an over-paying charge keeping its credit), split charges, charges before their invoice, credits, voided invoices,
same-day invoices), in all three modes."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from hub.collections.rules import InvoiceMode
from hub.documents.balance import account_block, block_of
from hub.documents.ledger import customer_ledger
from hub.documents.rules.statements import EntryKind, LedgerEntry, signed
from hub.documents.statements import statement, statement_of
from hub.platform.db import session
from hub.platform.models import Charge, ChargeAllocation, Invoice, Organisation
from tests.documents.seed_world import ENV, seed_customer
from tests.factories import bms_card

START = date(2024, 1, 1)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def random_account(seed: int) -> int:
    """A customer with ~30 invoices over a year and their payments, drawn from ``seed``."""
    rng = random.Random(seed)
    card = bms_card("psa").id
    with session(ENV) as s:
        org = Organisation(environment=ENV, connector_id=card, external_id="R1", content_hash="x",
                           name="Random Customer", code="RND", currency="USD")
        s.add(org)
        invoices = []
        for n in range(30):
            day = START + timedelta(days=rng.choice([0, 0, 3, 10, 12, 30]) + 12 * n)
            total = _money(rng, 10, 500) if rng.random() > 0.08 else -_money(rng, 5, 80)
            paid = rng.choice([Decimal(0), total, total, total / 2, total + _money(rng, 1, 40)])
            paid = paid.quantize(Decimal("0.01")) if total > 0 else Decimal(0)
            changed = datetime.combine(day + timedelta(days=rng.randint(0, 40)), datetime.min.time(), tzinfo=UTC)
            invoices.append(Invoice(
                environment=ENV, connector_id=card, external_id=f"R{n}", content_hash="x", number=f"R-{n:03d}",
                organisation_external_id="R1", status=rng.choice(["Open"] * 8 + ["Void", "Draft"]),
                invoice_date=day, due_date=day + timedelta(days=30), currency="USD", total=total,
                amount_paid=paid, amount_due=total - paid, source_modified_at=changed))
        s.add_all(invoices)
        s.flush()
        for k in range(12):
            inv = rng.choice(invoices)
            other = rng.choice(invoices)
            assert inv.invoice_date is not None and inv.id is not None and other.id is not None
            day = inv.invoice_date + timedelta(days=rng.randint(-5, 45))
            amount = _money(rng, 5, 200)
            charge = Charge(environment=ENV, key=f"r-{seed}-{k}", invoice_id=inv.id, organisation_id=org.id, attempt=k + 1,
                            amount=amount, currency="USD", status=rng.choice(["succeeded"] * 4 + ["failed"]),
                            transaction_id=f"T-{k}", charged_on=day if rng.random() > 0.2 else None,
                            credit=_money(rng, 1, 20) if rng.random() < 0.25 else None,
                            created_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC))
            s.add(charge)
            s.flush()
            if other.id != inv.id and rng.random() < 0.3:
                part = (amount / 3).quantize(Decimal("0.01"))
                assert charge.id is not None
                s.add_all([ChargeAllocation(environment=ENV, charge_id=charge.id, invoice_id=inv.id,
                                            amount=amount - part),
                           ChargeAllocation(environment=ENV, charge_id=charge.id, invoice_id=other.id, amount=part)])
        assert org.id is not None
        return org.id


def _key(e: LedgerEntry) -> tuple[str, ...]:
    return tuple(str(v) for v in (e.day, e.kind, e.number, e.amount, e.invoice_number, e.due_date))


def assert_same_as_whole(org: int, days: list[date]) -> None:
    with session(ENV) as s:
        whole = customer_ledger(s, org)
        numbers = sorted({e.number for e in whole.entries if e.kind == EntryKind.INVOICE})
        for since in days:
            window = customer_ledger(s, org, since)
            assert window.opening == sum((signed(e) for e in whole.entries if e.day < since), Decimal(0)), since
            assert sorted(map(_key, window.entries)) == sorted(_key(e) for e in whole.entries if e.day >= since)
        checked = 0
        for mode in InvoiceMode:
            for as_of in days:
                expected = block_of(whole, None, as_of, mode)
                assert account_block(s, org, None, as_of, mode, None) == expected, (mode, as_of)
                for start in (None, as_of - timedelta(days=45)):
                    assert statement(s, org, as_of, mode=mode, period_start=start) == \
                        statement_of(whole, as_of, mode=mode, period_start=start), (mode, as_of, start)
            for number in numbers:  # each invoice on the first of the days after its issue day
                issued = next(e.day for e in whole.entries if e.number == number)
                as_of = next((d for d in days if d >= issued), issued)
                checked += 1
                assert account_block(s, org, number, as_of, mode, None) == \
                    block_of(whole, number, as_of, mode), (mode, number, as_of)
        assert checked


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_blocks_and_statements_read_from_what_they_need_equal_those_of_the_whole_account(
        hub_db: str, seed: int) -> None:
    org = random_account(seed)
    days = [START + timedelta(days=d) for d in range(0, 420, 61)]
    assert_same_as_whole(org, days)


def test_seed_001_blocks_read_from_the_cycles_their_mode_needs_are_the_seeds(hub_db: str) -> None:
    org, _ = seed_customer()
    assert_same_as_whole(org, [date(2012, 8, 5), date(2012, 8, 10), date(2012, 9, 5), date(2012, 9, 30)])
