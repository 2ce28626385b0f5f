"""Billing periods: month arithmetic that keeps the anchor day, and a plan's cycles.

Every period is computed from the anchor (``start + n * step``), never by chaining, so a
monthly plan anchored on Jan 31 bills Feb 28/29, Mar 31, Apr 30, ...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from hub.billing.rules.domain import BillingPeriod, BillingPeriodType, PeriodUnit
from hub.billing.rules.errors import BillingRuleError
from hub.platform.calendar import add_months

_NAMED_MONTHS: dict[BillingPeriodType, int] = {
    BillingPeriodType.MONTHLY: 1,
    BillingPeriodType.QUARTERLY: 3,
    BillingPeriodType.HALF_YEARLY: 6,
    BillingPeriodType.YEARLY: 12,
}


@dataclass(frozen=True, slots=True)
class Period:
    """One billing cycle: ``cycle`` is 1-based, ``start`` and ``end`` are both inclusive."""

    cycle: int
    start: date
    end: date




def period_step(billing: BillingPeriod) -> tuple[PeriodUnit, int]:
    """Return the ``(unit, length)`` of one billing period.

    Monthly, Quarterly, Half-yearly and Yearly are 1, 3, 6 and 12 months whatever the stored
    unit/length say; Other uses its own unit and length.

    Raises:
        BillingRuleError: an Other period whose length is below 1.
    """
    months = _NAMED_MONTHS.get(billing.period_type)
    if months is not None:
        return PeriodUnit.MONTHS, months
    if billing.length < 1:
        raise BillingRuleError(
            "billing.length",
            f"an Other billing period needs a length of at least 1, not {billing.length}",
        )
    return PeriodUnit(billing.unit), billing.length


def step_date(anchor: date, billing: BillingPeriod, n: int) -> date:
    """Return the start of the period ``n`` steps after ``anchor`` (n = 0 is the anchor)."""
    unit, length = period_step(billing)
    if unit == PeriodUnit.MONTHS:
        return add_months(anchor, n * length)
    return anchor + timedelta(days=n * length)


def periods(
    start: date,
    billing: BillingPeriod,
    *,
    until: date,
    end: date | None = None,
    max_cycles: int | None = None,
) -> list[Period]:
    """List the billing periods anchored at ``start`` whose start is on or before ``until``.

    A period ends the day before the next one starts, clipped to ``end`` (inclusive); no period
    starts after ``end``. At most ``max_cycles`` periods are returned when it is given.
    """
    unit, length = period_step(billing)
    months = unit == PeriodUnit.MONTHS
    one_day = timedelta(days=1)
    result: list[Period] = []
    n, p_start = 0, start
    while max_cycles is None or n < max_cycles:
        if p_start > until or (end is not None and p_start > end):
            break
        n += 1  # each start is computed once, from the anchor, and is the previous period's end + 1
        following = add_months(start, n * length) if months else start + timedelta(days=n * length)
        p_end = following - one_day
        if end is not None and p_end > end:
            p_end = end
        result.append(Period(cycle=n, start=p_start, end=p_end))
        p_start = following
    return result


def cycles_end(start: date, billing: BillingPeriod, cycles: int) -> date:
    """Return the last day (inclusive) of ``cycles`` billing periods anchored at ``start``."""
    return step_date(start, billing, cycles) - timedelta(days=1)
