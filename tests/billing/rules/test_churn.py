"""The churn report's rule: cancelled plans and customers per period and Cancel reason code."""

from __future__ import annotations

from datetime import date

from hub.billing.rules.churn import Cancellation, churn_by_reason
from hub.billing.rules.dashboard import Filters, Granularity


def test_churn_counts_plans_and_distinct_customers_per_period_and_reason() -> None:
    cancelled = [
        Cancellation(1, customer=10, reason_code="PRICE", cancelled_on=date(2024, 1, 3)),
        Cancellation(2, customer=10, reason_code="PRICE", cancelled_on=date(2024, 1, 31)),  # same customer
        Cancellation(3, customer=11, reason_code="MOVED", cancelled_on=date(2024, 1, 15)),
        Cancellation(4, customer=12, reason_code=None, cancelled_on=date(2024, 3, 1)),
        Cancellation(5, customer=13, reason_code="PRICE", cancelled_on=date(2023, 12, 31)),  # before the window
    ]
    by_month = churn_by_reason(cancelled, Filters(date(2024, 1, 1), date(2024, 3, 31)))
    assert [(r.period, r.reason_code, r.plans, r.customers) for r in by_month] == [
        ("2024-01", "MOVED", 1, 1), ("2024-01", "PRICE", 2, 1), ("2024-03", "(none)", 1, 1)]
    by_quarter = churn_by_reason(cancelled, Filters(date(2024, 1, 1), date(2024, 3, 31), None, Granularity.QUARTER))
    assert [(r.period, r.reason_code, r.plans) for r in by_quarter] == [
        ("2024 Q1", "(none)", 1), ("2024 Q1", "MOVED", 1), ("2024 Q1", "PRICE", 2)]
