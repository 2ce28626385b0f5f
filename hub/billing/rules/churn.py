"""The churn report (seed 003's dashboard "Churn rate", by cancel reason code): how many plans and
customers were cancelled per period, for each Cancel reason code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from hub.billing.rules.dashboard import Filters, periods

#: the reason shown for a plan cancelled without one (before reasons were captured)
NO_REASON = "(none)"


@dataclass(frozen=True)
class Cancellation:
    """One cancelled plan: its customer, its Cancel reason code and the day it was cancelled."""

    plan_id: int
    customer: int
    reason_code: str | None
    cancelled_on: date


@dataclass(frozen=True)
class ChurnRow:
    period: str
    first: date
    last: date
    reason_code: str
    plans: int
    customers: int


def churn_by_reason(cancellations: Iterable[Cancellation], f: Filters) -> list[ChurnRow]:
    """Per period of ``f`` (months, quarters or years from ``f.start`` to ``f.end``) and per reason
    code, the plans cancelled and the distinct customers they belonged to; periods and reasons
    without a cancellation are left out. Ordered by period, then reason code."""
    found = list(cancellations)
    rows: list[ChurnRow] = []
    for period in periods(f.start, f.end, f.granularity):
        inside = [c for c in found if period.first <= c.cancelled_on <= period.last]
        for reason in sorted({c.reason_code or NO_REASON for c in inside}):
            mine = [c for c in inside if (c.reason_code or NO_REASON) == reason]
            rows.append(ChurnRow(period.label, period.first, period.last, reason, len(mine),
                                 len({c.customer for c in mine})))
    return rows
