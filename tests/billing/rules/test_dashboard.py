"""The dashboard's cards and series (seed 003), table-style on plain facts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest

from hub.billing.rules.dashboard import (
    ActionFact,
    DashboardError,
    Filters,
    Granularity,
    PlanFact,
    action_counts,
    active_customers,
    cards,
    churned_customers,
    periods,
    revenue,
    series,
)

D = date
PLANS = [
    PlanFact(customer=1, status="Published", start=D(2024, 1, 31), currencies=frozenset({"USD"})),
    PlanFact(customer=1, status="Published", start=D(2024, 3, 1), currencies=frozenset({"USD"})),  # same customer
    PlanFact(customer=2, status="Cancelled", start=D(2024, 1, 1), cancelled_on=D(2024, 2, 15),
             currencies=frozenset({"EUR"})),
    PlanFact(customer=3, status="Published", start=D(2024, 1, 1), end=D(2024, 1, 31), currencies=frozenset({"USD"})),
    PlanFact(customer=4, status="Draft", start=D(2024, 1, 1), currencies=frozenset({"USD"})),
]
ACTIONS = [
    ActionFact(D(2024, 1, 31), D(2024, 1, 31), "Posted", "USD", Decimal("59.97"), posted_on=D(2024, 2, 1)),
    ActionFact(D(2024, 2, 1), D(2024, 2, 29), "Posted", "USD", Decimal("59.97"), posted_on=D(2024, 2, 29)),
    ActionFact(D(2024, 3, 5), D(2024, 2, 29), "Posted", "USD", Decimal("10.00"), credit_note=True,
               posted_on=D(2024, 3, 5)),
    ActionFact(D(2024, 2, 1), D(2024, 2, 1), "Posted", "EUR", Decimal("100.00"), posted_on=D(2024, 2, 1)),
    ActionFact(D(2024, 3, 1), D(2024, 3, 31), "Firmed", "USD", Decimal("59.97")),
    ActionFact(D(2024, 3, 1), D(2024, 4, 30), "Not firmed", "USD", Decimal("59.97")),
    ActionFact(D(2024, 3, 1), D(2024, 3, 31), "Cancelled", "USD", Decimal("59.97")),
]


@pytest.mark.parametrize(("first", "last", "currency", "expected"), [
    (D(2024, 1, 1), D(2024, 1, 31), None, 3),   # 1, 2, 3 (the Draft plan's customer is not a customer yet)
    (D(2024, 2, 1), D(2024, 2, 29), None, 2),   # 3 ended on Jan 31; 2 cancelled on Feb 15 still counts
    (D(2024, 2, 16), D(2024, 2, 29), None, 1),  # after the cancellation
    (D(2024, 1, 31), D(2024, 1, 31), None, 3),  # inclusive at both ends
    (D(2024, 1, 1), D(2024, 12, 31), "EUR", 1),
    (D(2023, 1, 1), D(2023, 12, 31), None, 0),
])
def test_active_customers_counts_each_customer_once_in_the_period(first, last, currency, expected) -> None:
    assert active_customers(PLANS, first, last, currency) == expected


def test_churn_counts_customers_whose_plan_was_cancelled_in_the_period() -> None:
    assert churned_customers(PLANS, D(2024, 2, 1), D(2024, 2, 29)) == 1
    assert churned_customers(PLANS, D(2024, 2, 15), D(2024, 2, 15)) == 1
    assert churned_customers(PLANS, D(2024, 3, 1), D(2024, 3, 31)) == 0
    assert churned_customers(PLANS, D(2024, 2, 1), D(2024, 2, 29), "USD") == 0


def test_revenue_is_posted_net_per_currency_with_credit_notes_negative() -> None:
    assert revenue(ACTIONS, D(2024, 1, 1), D(2024, 12, 31)) == {"EUR": Decimal("100.00"), "USD": Decimal("109.94")}
    assert revenue(ACTIONS, D(2024, 2, 1), D(2024, 2, 1), "USD") == {"USD": Decimal("59.97")}
    assert revenue(ACTIONS, D(2024, 3, 1), D(2024, 3, 31)) == {"USD": Decimal("-10.00")}
    assert all(isinstance(v, Decimal) for v in revenue(ACTIONS, D(2024, 1, 1), D(2024, 12, 31)).values())


def test_actions_created_firmed_and_posted() -> None:
    assert action_counts(ACTIONS, D(2024, 3, 1), D(2024, 3, 31)) == {"created": 4, "firmed": 1, "posted": 1}
    assert action_counts(ACTIONS, D(2024, 2, 1), D(2024, 2, 29)) == {"created": 2, "firmed": 3, "posted": 3}
    assert action_counts(ACTIONS, D(2024, 2, 1), D(2024, 2, 29), "EUR") == {"created": 1, "firmed": 1, "posted": 1}


@pytest.mark.parametrize(("start", "end", "grain", "labels", "first", "last"), [
    (D(2024, 1, 15), D(2024, 3, 10), Granularity.MONTH, ["2024-01", "2024-02", "2024-03"],
     D(2024, 1, 15), D(2024, 3, 10)),
    (D(2023, 11, 1), D(2024, 4, 1), Granularity.QUARTER, ["2023 Q4", "2024 Q1", "2024 Q2"],
     D(2023, 11, 1), D(2024, 4, 1)),
    (D(2022, 6, 1), D(2024, 1, 1), Granularity.YEAR, ["2022", "2023", "2024"], D(2022, 6, 1), D(2024, 1, 1)),
    (D(2024, 2, 29), D(2024, 2, 29), Granularity.MONTH, ["2024-02"], D(2024, 2, 29), D(2024, 2, 29)),
])
def test_periods_cover_the_filter_clipped_at_its_ends(start, end, grain, labels, first, last) -> None:
    found = periods(start, end, grain)
    assert [p.label for p in found] == labels
    assert found[0].first == first and found[-1].last == last
    for a, b in pairwise(found):
        assert (b.first - a.last).days == 1  # contiguous, no gap, no overlap


def test_series_per_month_and_cards_agree() -> None:
    f = Filters(D(2024, 1, 1), D(2024, 3, 31))
    s = series(PLANS, ACTIONS, f)
    assert [p.label for p in s.periods] == ["2024-01", "2024-02", "2024-03"]
    assert s.revenue == {"EUR": [Decimal("0"), Decimal("100.00"), Decimal("0")],
                         "USD": [Decimal("0"), Decimal("119.94"), Decimal("-10.00")]}
    assert s.active_customers == [3, 2, 1]
    assert s.churn == [0, 1, 0]
    assert s.actions == {"created": [1, 2, 4], "firmed": [1, 3, 1], "posted": [0, 3, 1]}
    c = cards(PLANS, ACTIONS, f)
    assert (c.total_customers, c.churn, c.actions_created, c.actions_firmed, c.actions_posted) == (3, 1, 7, 5, 4)
    assert c.revenue == {"EUR": Decimal("100.00"), "USD": Decimal("109.94")}


def test_the_currency_filter_applies_to_everything() -> None:
    c = cards(PLANS, ACTIONS, Filters(D(2024, 1, 1), D(2024, 3, 31), currency="EUR"))
    assert (c.total_customers, c.churn, c.actions_created, c.revenue) == (1, 1, 1, {"EUR": Decimal("100.00")})
    s = series(PLANS, [], Filters(D(2024, 1, 1), D(2024, 1, 31), currency="CHF"))
    assert s.revenue == {"CHF": [Decimal("0")]}  # the chosen currency is drawn even when empty


def test_bad_filters_are_refused_in_plain_words() -> None:
    with pytest.raises(DashboardError, match="after"):
        Filters(D(2024, 2, 1), D(2024, 1, 1))
    with pytest.raises(DashboardError, match="coarser"):
        periods(D(1900, 1, 1), D(2024, 1, 1), Granularity.MONTH)
