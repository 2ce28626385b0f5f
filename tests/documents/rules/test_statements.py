"""The statement of account as a pure rule: opening and closing balance, the period's lines, and
aging buckets that add up to the closing balance (less any unapplied credit)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from hub.collections.rules import CollectionRuleError
from hub.documents.rules.statements import EntryKind, LedgerEntry, bucket_of, build_statement, cycles

INV, PAY, CREDIT = EntryKind.INVOICE, EntryKind.PAYMENT, EntryKind.CREDIT


def inv(number: str, day: date, amount: str, due: date | None = None) -> LedgerEntry:
    return LedgerEntry(day, INV, number, D(amount), due_date=due)


@pytest.mark.parametrize(("days", "bucket"), [(-5, "current"), (0, "current"), (1, "days_1_30"), (30, "days_1_30"),
                                               (31, "days_31_60"), (60, "days_31_60"), (61, "days_61_90"),
                                               (90, "days_61_90"), (91, "over_90"), (4000, "over_90")])
def test_aging_buckets_are_current_1_30_31_60_61_90_and_over_90(days: int, bucket: str) -> None:
    assert bucket_of(days) == bucket


def test_opening_lines_closing_and_aging_of_a_period() -> None:
    entries = [
        inv("A", date(2012, 5, 1), "100", date(2012, 5, 15)),   # 108 days past due on 8/31
        inv("B", date(2012, 7, 1), "200", date(2012, 7, 15)),   # 47 days
        LedgerEntry(date(2012, 7, 20), PAY, "P1", D("50"), invoice_number="B"),
        inv("C", date(2012, 8, 5), "300", date(2012, 8, 20)),   # 11 days
        LedgerEntry(date(2012, 8, 10), CREDIT, "CM1", D("30")),  # on account: pays the oldest (A) first
        inv("D", date(2012, 8, 25), "40", date(2012, 9, 24)),   # not yet due
        inv("E", date(2012, 9, 2), "999"),                      # after the statement date: not on it
    ]
    st = build_statement(entries, date(2012, 8, 31), "usd")
    assert (st.period_start, st.currency) == (date(2012, 8, 1), "USD")
    assert st.opening_balance == D("250.00")  # 100 + 200 - 50
    assert [(line.entry.number, line.balance) for line in st.lines] == [
        ("C", D("550.00")), ("CM1", D("520.00")), ("D", D("560.00"))]
    assert (st.invoices, st.payments, st.credits, st.closing_balance) == (D("340.00"), D("0.00"), D("30.00"),
                                                                          D("560.00"))
    assert st.aging == {"current": D("40.00"), "days_1_30": D("300.00"), "days_31_60": D("150.00"),
                        "days_61_90": D("0.00"), "over_90": D("70.00")}
    assert sum(st.aging.values()) - st.unapplied_credit == st.closing_balance


def test_an_over_payment_is_an_unapplied_credit_and_the_closing_balance_goes_negative() -> None:
    entries = [inv("A", date(2012, 8, 5), "100", date(2012, 8, 10)),
               LedgerEntry(date(2012, 8, 10), PAY, "P", D("130"), invoice_number="A")]
    st = build_statement(entries, date(2012, 8, 31), "USD")
    assert st.closing_balance == D("-30.00") and st.unapplied_credit == D("30.00")
    assert set(st.aging.values()) == {D("0.00")}


def test_same_day_invoices_are_one_billing_cycle_for_the_balance_block() -> None:
    plan = cycles([inv("B2", date(2012, 8, 5), "10"), inv("B1", date(2012, 8, 5), "20"),
                   inv("C", date(2012, 9, 5), "5"),
                   LedgerEntry(date(2012, 8, 6), PAY, "P", D("7"), invoice_number="B2")])
    assert [(c.number, c.current_charges) for c in plan.invoices] == [("B1", D("30")), ("C", D("5"))]
    assert plan.cycle_of == {"B1": "B1", "B2": "B1", "C": "C"}
    assert [p.invoice_number for p in plan.payments] == ["B1"]


@pytest.mark.parametrize(("entries", "as_of", "start", "words"), [
    ([inv("A", date(2012, 8, 5), "1"), inv("A", date(2012, 8, 6), "1")], date(2012, 8, 31), None, "listed twice"),
    ([], date(2012, 8, 31), date(2012, 9, 1), "after the statement"),
])
def test_bad_statement_input_names_the_problem(entries: list, as_of: date, start: date | None, words: str) -> None:
    with pytest.raises(CollectionRuleError, match=words):
        build_statement(entries, as_of, "USD", start)


def test_a_negative_amount_or_a_float_is_refused() -> None:
    with pytest.raises(CollectionRuleError, match="negative"):
        inv("A", date(2012, 8, 5), "-1")
    with pytest.raises(CollectionRuleError, match="never a float"):
        LedgerEntry(date(2012, 8, 5), PAY, "P", 1.5)  # type: ignore[arg-type]
