"""The dashboard of seed 003 as pure functions: cards and per-period series from plain facts.

Definitions (a period is inclusive at both ends):

- active customer: has a Published plan, or a plan Cancelled later, running in the period
  (started on or before its last day; not ended nor cancelled before its first day);
- churn: customers with a plan cancelled in the period;
- revenue: net amounts of Posted actions by posting day, per currency; credit notes count
  negative;
- actions created (by creation day), firmed (Firmed, Posting or Posted, by action date) and
  posted (Posted, by posting day).

The currency filter keeps the plans with a line in that currency and the actions in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from hub.platform.errors import InputError

MAX_BUCKETS = 240


class Granularity(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class DashboardError(InputError):
    """Filters that cannot be honoured, in plain words."""


@dataclass(frozen=True)
class PlanFact:
    customer: int
    status: str  # Draft | Published | Cancelled
    start: date
    end: date | None = None
    cancelled_on: date | None = None
    currencies: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ActionFact:
    created_on: date
    action_date: date
    status: str
    currency: str | None = None
    net: Decimal | None = None
    credit_note: bool = False
    posted_on: date | None = None


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    currency: str | None = None
    granularity: Granularity = Granularity.MONTH

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise DashboardError(f"'from' ({self.start}) is after 'to' ({self.end})")


@dataclass(frozen=True)
class Period:
    label: str
    first: date
    last: date


@dataclass(frozen=True)
class Cards:
    total_customers: int
    churn: int
    revenue: dict[str, Decimal]
    actions_created: int
    actions_firmed: int
    actions_posted: int


@dataclass(frozen=True)
class Series:
    periods: list[Period]
    revenue: dict[str, list[Decimal]] = field(default_factory=dict)
    active_customers: list[int] = field(default_factory=list)
    churn: list[int] = field(default_factory=list)
    actions: dict[str, list[int]] = field(default_factory=dict)


FIRMED = frozenset({"Firmed", "Posting", "Posted"})


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def periods(start: date, end: date, granularity: Granularity) -> list[Period]:
    """Calendar months, quarters or years covering [start, end], clipped to it."""
    step = {Granularity.MONTH: 1, Granularity.QUARTER: 3, Granularity.YEAR: 12}[granularity]
    if granularity == Granularity.MONTH:
        first = date(start.year, start.month, 1)
    elif granularity == Granularity.QUARTER:
        first = date(start.year, (start.month - 1) // 3 * 3 + 1, 1)
    else:
        first = date(start.year, 1, 1)
    result: list[Period] = []
    while first <= end:
        nxt = _month_start(first, step)
        if granularity == Granularity.MONTH:
            label = f"{first:%Y-%m}"
        elif granularity == Granularity.QUARTER:
            label = f"{first.year} Q{(first.month - 1) // 3 + 1}"
        else:
            label = str(first.year)
        result.append(Period(label, max(first, start), min(nxt - timedelta(days=1), end)))
        if len(result) > MAX_BUCKETS:
            raise DashboardError(f"more than {MAX_BUCKETS} {granularity.value}s: pick a coarser granularity")
        first = nxt
    return result


def _keep_plan(plan: PlanFact, currency: str | None) -> bool:
    return plan.status != "Draft" and (currency is None or currency in plan.currencies)


def _ends(plan: PlanFact) -> date | None:
    ends = [d for d in (plan.end, plan.cancelled_on) if d is not None]
    return min(ends) if ends else None


def _not_ended_before(plan: PlanFact, day: date) -> bool:
    end = _ends(plan)
    return end is None or end >= day


def active_customers(plans: Iterable[PlanFact], first: date, last: date, currency: str | None = None) -> int:
    return len({p.customer for p in plans if _keep_plan(p, currency) and p.start <= last
                and _not_ended_before(p, first)})


def churned_customers(plans: Iterable[PlanFact], first: date, last: date, currency: str | None = None) -> int:
    return len({p.customer for p in plans if _keep_plan(p, currency) and p.cancelled_on is not None
                and first <= p.cancelled_on <= last})


def _in(day: date | None, first: date, last: date) -> bool:
    return day is not None and first <= day <= last


def _actions(actions: Iterable[ActionFact], currency: str | None) -> list[ActionFact]:
    return [a for a in actions if currency is None or a.currency == currency]


def revenue(actions: Iterable[ActionFact], first: date, last: date, currency: str | None = None) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for a in _actions(actions, currency):
        if a.status == "Posted" and a.currency and a.net is not None and _in(a.posted_on, first, last):
            totals[a.currency] = totals.get(a.currency, Decimal("0")) + (-a.net if a.credit_note else a.net)
    return dict(sorted(totals.items()))


def action_counts(actions: Iterable[ActionFact], first: date, last: date, currency: str | None = None) -> dict[str, int]:
    kept = _actions(actions, currency)
    return {
        "created": sum(_in(a.created_on, first, last) for a in kept),
        "firmed": sum(a.status in FIRMED and _in(a.action_date, first, last) for a in kept),
        "posted": sum(a.status == "Posted" and _in(a.posted_on, first, last) for a in kept),
    }


def cards(plans: list[PlanFact], actions: list[ActionFact], f: Filters) -> Cards:
    counts = action_counts(actions, f.start, f.end, f.currency)
    return Cards(
        total_customers=active_customers(plans, f.start, f.end, f.currency),
        churn=churned_customers(plans, f.start, f.end, f.currency),
        revenue=revenue(actions, f.start, f.end, f.currency),
        actions_created=counts["created"], actions_firmed=counts["firmed"], actions_posted=counts["posted"],
    )


def series(plans: list[PlanFact], actions: list[ActionFact], f: Filters) -> Series:
    buckets = periods(f.start, f.end, f.granularity)
    per_bucket = [revenue(actions, b.first, b.last, f.currency) for b in buckets]
    currencies = sorted({c for r in per_bucket for c in r} | ({f.currency} if f.currency else set()))
    counts = [action_counts(actions, b.first, b.last, f.currency) for b in buckets]
    return Series(
        periods=buckets,
        revenue={c: [r.get(c, Decimal("0")) for r in per_bucket] for c in currencies},
        active_customers=[active_customers(plans, b.first, b.last, f.currency) for b in buckets],
        churn=[churned_customers(plans, b.first, b.last, f.currency) for b in buckets],
        actions={k: [c[k] for c in counts] for k in ("created", "firmed", "posted")},
    )


def filters_for(start: date | None, end: date | None, granularity: str, currency: str | None = None, *,
                today: date) -> Filters:
    """Filters from what a user typed: by default the twelve months up to ``today``.

    Raises:
        DashboardError: an unknown granularity, or 'from' after 'to'.
    """
    end = end or today
    start = start or (end.replace(day=1) - timedelta(days=335)).replace(day=1)
    try:
        grain = Granularity(granularity)
    except ValueError:
        raise DashboardError("granularity must be month, quarter or year") from None
    return Filters(start, end, (currency or "").strip().upper() or None, grain)
