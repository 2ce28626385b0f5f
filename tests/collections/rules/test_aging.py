"""Receivables by age (the home page's overdue buckets): pure rule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from hub.collections.rules.aging import NOT_DUE, age, bucket

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(("days_late", "expected"), [
    (-3, NOT_DUE), (0, NOT_DUE), (1, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
    (90, "61-90"), (91, "90+"), (4000, "90+")])
def test_an_invoice_falls_in_the_bucket_of_its_days_past_due(days_late: int, expected: str) -> None:
    assert bucket(TODAY - timedelta(days=days_late), TODAY) == expected


def test_an_invoice_without_a_due_date_is_open_but_never_overdue() -> None:
    aging = age([(None, "EUR", Decimal("5.00"))], TODAY)
    assert aging.open == {"EUR": Decimal("5.00")} and aging.overdue == {}


def test_amounts_add_up_per_currency_and_bucket_and_nothing_owed_is_left_out() -> None:
    aging = age([(TODAY - timedelta(days=10), "EUR", Decimal("1.10")), (TODAY - timedelta(days=20), "EUR", Decimal("2.20")),
                 (TODAY - timedelta(days=100), "USD", Decimal("7")), (TODAY - timedelta(days=5), "EUR", Decimal(0)),
                 (TODAY + timedelta(days=5), "EUR", Decimal("4"))], TODAY)
    assert aging.open == {"EUR": Decimal("7.30"), "USD": Decimal("7")}
    assert aging.overdue == {"0-30": {"EUR": Decimal("3.30")}, "90+": {"USD": Decimal("7")}}
    assert aging.overdue_invoices == {"0-30": 2, "90+": 1}
