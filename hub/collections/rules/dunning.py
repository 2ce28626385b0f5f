"""Overdue levels and the late-payment penalty (seed 001): what to do about overdue invoices today.

Seed 001's example: reminders at 15, 45 and 60 days overdue (Overdue 1, 2 and 3), each
e-mail stiffer than the last, and a 5% penalty once the customer is Overdue 3. A customer's
status is the highest level over their unpaid invoices; paying clears it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from connectors.money import round_money
from hub.collections.rules.domain import OpenInvoice
from hub.collections.rules.errors import CollectionRuleError, require_decimal

#: notification levels are Overdue 1, 2 and 3 (one notification type each)
MAX_LEVELS = 3


class Severity(StrEnum):
    """How stiff an overdue e-mail is; rises with the level (a reminder first)."""

    REMINDER = "reminder"
    FIRM = "firm"
    FINAL = "final"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


@dataclass(frozen=True)
class OverdueLevel:
    """Level ``level`` ("Overdue 1") is reached ``days`` days after the due date."""

    level: int
    days: int
    severity: Severity

    @property
    def label(self) -> str:
        return f"Overdue {self.level}"


@dataclass(frozen=True)
class Penalty:
    """A penalty raised once at level ``at_level``: ``percent`` of the unpaid balance, or a
    ``fixed`` amount (in the invoice's currency) instead."""

    percent: Decimal | None = Decimal("5")
    at_level: int = 3
    fixed: Decimal | None = None
    #: only invoices that reach ``at_level`` on or after this day (switching penalties on does
    #: not bill years of history); None: every invoice
    since: date | None = None

    def amount(self, balance: Decimal, currency: str) -> Decimal:
        """The penalty on an unpaid ``balance``, rounded once to the currency's minor unit."""
        if self.fixed is not None:
            return round_money(Decimal(self.fixed), currency)
        assert self.percent is not None  # the policy checked one of them is set
        return round_money(balance * Decimal(self.percent) / 100, currency)


class HoldReason(StrEnum):
    """Why dunning stops for a customer or an invoice (a paid invoice stops by itself)."""

    DISPUTED = "disputed"  # until released
    PROMISE_TO_PAY = "promise_to_pay"  # until the promised date has passed


@dataclass(frozen=True)
class DunningHold:
    """A stop rule: no notice and no penalty for the invoices it covers while it applies."""

    reason: HoldReason
    until: date | None = None

    def __post_init__(self) -> None:
        reason = HoldReason(self.reason) if self.reason in set(HoldReason) else None
        if reason is None:
            raise CollectionRuleError("reason", f"must be one of {', '.join(HoldReason)}, not {self.reason!r}")
        if reason == HoldReason.PROMISE_TO_PAY and self.until is None:
            raise CollectionRuleError("until", "a promise to pay needs the date promised")
        object.__setattr__(self, "reason", reason)

    def applies(self, today: date) -> bool:
        """Whether it still stops dunning on ``today`` (a promise lapses the day after its date)."""
        return self.until is None or today <= self.until


DEFAULT_LEVELS: tuple[OverdueLevel, ...] = (
    OverdueLevel(1, 15, Severity.REMINDER),
    OverdueLevel(2, 45, Severity.FIRM),
    OverdueLevel(3, 60, Severity.FINAL),
)


@dataclass(frozen=True)
class DunningPolicy:
    """The overdue configuration; the defaults are seed 001's example.

    Raises:
        CollectionRuleError: no levels or more than three, levels not numbered 1, 2, 3 in
        order, days not rising (or below 1), a severity that falls, or a penalty whose
        percent is not above 0 and at most 100 or whose level does not exist.
    """

    levels: tuple[OverdueLevel, ...] = DEFAULT_LEVELS
    penalty: Penalty | None = field(default_factory=Penalty)

    def __post_init__(self) -> None:
        levels = tuple(self.levels)
        if not 1 <= len(levels) <= MAX_LEVELS:
            raise CollectionRuleError(
                "levels", f"need 1 to {MAX_LEVELS} overdue levels, not {len(levels)}"
            )
        for i, lvl in enumerate(levels):
            if lvl.level != i + 1:
                raise CollectionRuleError(
                    "levels",
                    f"must be numbered 1, 2, 3 in order; found {lvl.level} in place {i + 1}",
                )
            if lvl.days < 1:
                raise CollectionRuleError(
                    "levels", f"{lvl.label}: days overdue must be at least 1, not {lvl.days}"
                )
            Severity(lvl.severity)
            if i and lvl.days <= levels[i - 1].days:
                raise CollectionRuleError(
                    "levels",
                    f"{lvl.label} at {lvl.days} days must come after "
                    f"{levels[i - 1].label} at {levels[i - 1].days} days",
                )
            if i and Severity(lvl.severity).rank < Severity(levels[i - 1].severity).rank:
                raise CollectionRuleError(
                    "levels",
                    f"{lvl.label} is {lvl.severity}, milder than {levels[i - 1].label} "
                    f"({levels[i - 1].severity}): severity must rise",
                )
        if self.penalty is not None:
            if (self.penalty.percent is None) == (self.penalty.fixed is None):
                raise CollectionRuleError(
                    "penalty", "give a percent or a fixed amount (one of them, not both)"
                )
            if self.penalty.percent is not None:
                percent = require_decimal(self.penalty.percent, "penalty.percent")
                if not 0 < percent <= 100:
                    raise CollectionRuleError(
                        "penalty.percent", f"must be above 0 and at most 100, not {percent}"
                    )
            else:
                fixed = require_decimal(self.penalty.fixed, "penalty.fixed")
                if not fixed > 0:
                    raise CollectionRuleError("penalty.fixed", f"must be above 0, not {fixed}")
            if not 1 <= self.penalty.at_level <= len(levels):
                raise CollectionRuleError(
                    "penalty.at_level",
                    f"there is no Overdue {self.penalty.at_level} (levels 1-{len(levels)})",
                )
        object.__setattr__(self, "levels", levels)


def days_overdue(invoice: OpenInvoice, today: date) -> int:
    """Days past the due date (0 on or before it)."""
    return max(0, (today - invoice.due_date).days)


def overdue_level(invoice: OpenInvoice, today: date, policy: DunningPolicy) -> OverdueLevel | None:
    """The highest level ``invoice`` has reached today; None when it is paid or not that late."""
    if invoice.is_paid:
        return None
    late = days_overdue(invoice, today)
    reached = [lvl for lvl in policy.levels if late >= lvl.days]
    return reached[-1] if reached else None


@dataclass(frozen=True)
class CustomerStatus:
    """A customer's standing: ``level`` 0 is "Current"; otherwise "Overdue <level>"."""

    level: int
    severity: Severity | None = None

    @property
    def label(self) -> str:
        return f"Overdue {self.level}" if self.level else "Current"


def customer_status(
    invoices: Iterable[OpenInvoice], today: date, policy: DunningPolicy
) -> CustomerStatus:
    """One customer's status: the highest overdue level over their unpaid invoices."""
    levels = [lvl for inv in invoices if (lvl := overdue_level(inv, today, policy)) is not None]
    if not levels:
        return CustomerStatus(0)
    top = max(levels, key=lambda lvl: lvl.level)
    return CustomerStatus(top.level, top.severity)


@dataclass(frozen=True)
class OverdueNotice:
    """Send the notice of ``level`` for an invoice; ``key`` is the same on every run."""

    key: str
    invoice_id: str
    number: str
    customer: str
    level: int
    severity: Severity
    days_overdue: int
    balance: Decimal
    currency: str
    due_date: date


@dataclass(frozen=True)
class PenaltyCharge:
    """Raise a penalty charge of ``amount`` on an invoice's customer, once (``key``);
    ``percent`` is None for a fixed penalty."""

    key: str
    invoice_id: str
    number: str
    customer: str
    percent: Decimal | None
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class DunningPlan:
    notices: list[OverdueNotice] = field(default_factory=list)
    penalties: list[PenaltyCharge] = field(default_factory=list)


def overdue_notice_key(invoice_id: str, level: int) -> str:
    return f"overdue:{invoice_id}:{level}"


def penalty_key(invoice_id: str) -> str:
    return f"penalty:{invoice_id}"


def dunning_today(
    invoices: Iterable[OpenInvoice], today: date, policy: DunningPolicy,
    holds: Mapping[str, DunningHold] | None = None,
) -> DunningPlan:
    """Return the overdue notices to send and the penalties to raise today.

    Idempotent: a level already in ``levels_notified`` is not sent again, nor is a lower one;
    an invoice that jumped levels (first seen 50 days late) gets only its highest level's
    notice. The penalty is ``percent`` of the unpaid balance (or the fixed amount), rounded
    once to the currency's minor unit, raised once (``penalty_raised``). Paid invoices get
    nothing, nor do invoices under a hold that applies today (``holds`` by invoice id: disputed,
    or a promise to pay whose date has not passed); once the hold ends, dunning resumes at the
    level the invoice has reached.
    """
    plan = DunningPlan()
    holds = holds or {}
    for inv in sorted(invoices, key=lambda i: (i.customer, i.due_date, i.number, i.invoice_id)):
        level = overdue_level(inv, today, policy)
        if level is None:
            continue
        hold = holds.get(inv.invoice_id)
        if hold is not None and hold.applies(today):
            continue
        if level.level > max(inv.levels_notified, default=0):
            plan.notices.append(
                OverdueNotice(
                    key=overdue_notice_key(inv.invoice_id, level.level),
                    invoice_id=inv.invoice_id,
                    number=inv.number,
                    customer=inv.customer,
                    level=level.level,
                    severity=level.severity,
                    days_overdue=days_overdue(inv, today),
                    balance=inv.balance,
                    currency=inv.currency,
                    due_date=inv.due_date,
                )
            )
        penalty = policy.penalty
        if (penalty is not None and level.level >= penalty.at_level and not inv.penalty_raised
                and (penalty.since is None
                     or inv.due_date + timedelta(days=policy.levels[penalty.at_level - 1].days) >= penalty.since)):
            plan.penalties.append(
                PenaltyCharge(
                    key=penalty_key(inv.invoice_id),
                    invoice_id=inv.invoice_id,
                    number=inv.number,
                    customer=inv.customer,
                    percent=None if penalty.percent is None else Decimal(penalty.percent),
                    amount=penalty.amount(inv.balance, inv.currency),
                    currency=inv.currency,
                )
            )
    return plan
