from datetime import date
from decimal import Decimal as D

import pytest

from hub.collections.rules import ChargeTiming, CollectionRuleError, charge_date, due_for_charge

from .builders import invoice

SEED_INVOICE = invoice("1033", issue_date=date(2012, 8, 5), due=date(2012, 8, 10))


@pytest.mark.parametrize(
    ("timing", "charged_on"),
    [(ChargeTiming.ON_DUE_DATE, date(2012, 8, 10)), (ChargeTiming.ON_ISSUE, date(2012, 8, 5))],
)
def test_seed_001_invoice_sent_8_5_due_8_10_is_charged_per_the_setting(timing, charged_on):
    assert charge_date(SEED_INVOICE, timing) == charged_on


@pytest.mark.parametrize(
    ("today", "timing", "charged"),
    [
        (date(2012, 8, 5), ChargeTiming.ON_DUE_DATE, False),
        (date(2012, 8, 9), ChargeTiming.ON_DUE_DATE, False),
        (date(2012, 8, 10), ChargeTiming.ON_DUE_DATE, True),
        (date(2012, 8, 12), ChargeTiming.ON_DUE_DATE, True),  # a missed run catches up
        (date(2012, 8, 4), ChargeTiming.ON_ISSUE, False),
        (date(2012, 8, 5), ChargeTiming.ON_ISSUE, True),
    ],
)
def test_seed_001_invoice_is_due_for_charge_from_its_charge_date_on(today, timing, charged):
    assert (due_for_charge([SEED_INVOICE], today, timing) == [SEED_INVOICE]) is charged


def test_paid_and_already_attempted_invoices_are_not_charged_again():
    paid = invoice("1", balance=D("0"))
    declined = invoice("2", charge_attempts=1)  # the retry schedule owns it now
    fresh = invoice("3")
    assert due_for_charge([paid, declined, fresh], date(2012, 8, 10), ChargeTiming.ON_DUE_DATE) == [
        fresh
    ]


def test_due_invoices_come_oldest_charge_date_first_then_by_number():
    a = invoice("B", due=date(2012, 8, 10))
    b = invoice("A", due=date(2012, 8, 10))
    c = invoice("C", due=date(2012, 8, 1), issue_date=date(2012, 7, 20))
    assert [i.number for i in due_for_charge([a, b, c], date(2012, 8, 10), "on_due_date")] == [
        "C",
        "A",
        "B",
    ]


def test_not_before_keeps_invoices_from_before_autopay_was_switched_on():
    old = invoice("old", due=date(2012, 6, 10), issue_date=date(2012, 6, 1))
    new = invoice("new")
    due = due_for_charge(
        [old, new], date(2012, 8, 10), ChargeTiming.ON_DUE_DATE, not_before=date(2012, 8, 1)
    )
    assert due == [new]


def test_an_unknown_timing_is_refused():
    with pytest.raises(ValueError):
        due_for_charge([SEED_INVOICE], date(2012, 8, 10), "whenever")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"balance": D("-1")}, "balance"),
        ({"balance": 100.0}, "balance"),
        ({"currency": "DOLLAR"}, "currency"),
        ({"issue_date": date(2012, 8, 11)}, "due_date"),
        ({"invoice_id": " "}, "invoice_id"),
        ({"charge_attempts": -1}, "charge_attempts"),
    ],
)
def test_a_malformed_invoice_is_refused_naming_the_field(changes, field):
    with pytest.raises(CollectionRuleError, match=field):
        invoice(**changes)
