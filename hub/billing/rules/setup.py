"""Validation of the billing setup (seed 003): program types, reason codes, plans and lines.

Every failure raises :class:`BillingRuleError` naming the field and saying why.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from hub.billing.rules.amounts import line_amounts
from hub.billing.rules.domain import (
    BillingPeriod,
    ContractDefinition,
    LineTerms,
    PlanStatus,
    PlanTerms,
    ReasonType,
)
from hub.billing.rules.errors import BillingRuleError
from hub.billing.rules.periods import cycles_end

__all__ = [
    "DEFAULT_WINDOW",
    "BillingRuleError",
    "DateWindow",
    "PLAN_TRANSITIONS",
    "assert_plan_editable",
    "check_date",
    "change_reason_type",
    "default_reason",
    "transition_plan",
    "validate_contract",
    "validate_line",
    "validate_program_type",
    "validate_reason_defaults",
]

SUPPORTED_PERIOD_TYPES = ("Rolling",)
SUPPORTED_SUBSCRIPTION_TYPES = ("Per Unit",)

#: plan status -> the statuses it may move to (Published -> Draft is "unpublish", admin only)
PLAN_TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.DRAFT: frozenset({PlanStatus.PUBLISHED, PlanStatus.CANCELLED}),
    PlanStatus.PUBLISHED: frozenset({PlanStatus.DRAFT, PlanStatus.CANCELLED}),
    PlanStatus.CANCELLED: frozenset(),
}


def _norm(text: str) -> str:
    return " ".join(text.replace("-", " ").split()).casefold()


def validate_program_type(period_type: str, subscription_type: str) -> None:
    """Accept only what HARP supports: period type "Rolling", subscription type "Per Unit".

    Matching ignores case, hyphens and extra spaces ("per-unit" is "Per Unit").
    """
    if _norm(period_type or "") not in {_norm(t) for t in SUPPORTED_PERIOD_TYPES}:
        raise BillingRuleError(
            "period_type",
            f"only {', '.join(SUPPORTED_PERIOD_TYPES)} is supported, not {period_type!r}",
        )
    if _norm(subscription_type or "") not in {_norm(t) for t in SUPPORTED_SUBSCRIPTION_TYPES}:
        raise BillingRuleError(
            "subscription_type",
            f"only {', '.join(SUPPORTED_SUBSCRIPTION_TYPES)} is supported, "
            f"not {subscription_type!r}",
        )


def validate_reason_defaults(
    codes: Mapping[str, Set[ReasonType]], defaults: Mapping[ReasonType, str]
) -> None:
    """Check each type's default reason code exists and belongs to that type.

    ``codes`` maps a reason code to the types it belongs to (a code may have several);
    ``defaults`` maps a type to its one default code.
    """
    for rtype, code in defaults.items():
        if code not in codes:
            raise BillingRuleError(
                f"default reason code for {ReasonType(rtype).value}", f"{code!r} does not exist"
            )
        if rtype not in codes[code]:
            raise BillingRuleError(
                f"default reason code for {ReasonType(rtype).value}",
                f"{code!r} is not a {ReasonType(rtype).value} reason code",
            )


def default_reason(
    codes: Mapping[str, Set[ReasonType]],
    defaults: Mapping[ReasonType, str],
    rtype: ReasonType,
) -> str | None:
    """Return the default reason code of ``rtype`` (None when the type has none).

    Raises:
        BillingRuleError: the stored default does not exist or is not of ``rtype``.
    """
    code = defaults.get(rtype)
    if code is None:
        return None
    validate_reason_defaults(codes, {rtype: code})
    return code


def change_reason_type(before: Decimal | None, after: Decimal | None) -> ReasonType | None:
    """The reason type a line change is: Upgrade when the billing-period amount after discount
    rises, Downgrade when it falls, None when it stays (seed 003 offers the type's default code)."""
    if before is None or after is None or before == after:
        return None
    return ReasonType.UPGRADE if after > before else ReasonType.DOWNGRADE


def transition_plan(current: PlanStatus, target: PlanStatus) -> PlanStatus:
    """Return ``target`` if a plan may move there from ``current``.

    Draft -> Published (publish), Published -> Draft (unpublish, an administrator feature),
    Draft/Published -> Cancelled. Cancelled is final.
    """
    if target not in PLAN_TRANSITIONS[PlanStatus(current)]:
        raise BillingRuleError(
            "status", f"a {PlanStatus(current).value} plan cannot become {PlanStatus(target).value}"
        )
    return PlanStatus(target)


def assert_plan_editable(status: PlanStatus) -> None:
    """Only Draft plans (and their lines) may be edited."""
    if status != PlanStatus.DRAFT:
        raise BillingRuleError(
            "status", f"a {PlanStatus(status).value} plan cannot be edited; only Draft plans can"
        )


@dataclass(frozen=True)
class DateWindow:
    """The billing dates the hub accepts (a typo such as year 20024 must not reach the ERP)."""

    first: date = date(1900, 1, 1)
    last: date = date(2200, 12, 31)

    @classmethod
    def years(cls, earliest: int, latest: int) -> DateWindow:
        return cls(date(earliest, 1, 1), date(latest, 12, 31))


DEFAULT_WINDOW = DateWindow()


def check_date(field: str, value: date | None, window: DateWindow = DEFAULT_WINDOW) -> None:
    """Refuse a date outside ``window``, naming ``field`` and the window."""
    if value is not None and not window.first <= value <= window.last:
        raise BillingRuleError(field, f"{value} is outside the dates the hub accepts ({window.first} to {window.last})")


def validate_contract(contract: ContractDefinition, billing: BillingPeriod | None = None,
                      window: DateWindow = DEFAULT_WINDOW) -> None:
    """Check the contract definition: dates in ``window``, end on/after start, fixed cycles >= 1
    and (with ``billing``) ending inside the window, notice days >= 0."""
    check_date("global_start", contract.global_start, window)
    check_date("global_end", contract.global_end, window)
    if contract.global_end is not None and contract.global_end < contract.global_start:
        raise BillingRuleError(
            "global_end",
            f"{contract.global_end} is before the global start {contract.global_start}",
        )
    if contract.fixed_cycles is not None and contract.fixed_cycles < 1:
        raise BillingRuleError("fixed_cycles", f"must be at least 1, not {contract.fixed_cycles}")
    if contract.fixed_cycles is not None and billing is not None:
        try:
            end: date | None = cycles_end(contract.global_start, billing, contract.fixed_cycles)
        except (OverflowError, ValueError):
            end = None
        if end is None or end > window.last:
            raise BillingRuleError("fixed_cycles", f"{contract.fixed_cycles} billing periods from "
                                   f"{contract.global_start} end after {window.last}, the last date the hub accepts")
    if contract.renewal_notice_days < 0:
        raise BillingRuleError(
            "renewal_notice_days", f"must not be negative, not {contract.renewal_notice_days}"
        )
    if contract.renewal_notice_notification and not contract.renewal_notice:
        raise BillingRuleError(
            "renewal_notice_notification",
            "a renewal-notice notification needs the contract renewal notice turned on",
        )


def validate_line(plan: PlanTerms, line: LineTerms, window: DateWindow = DEFAULT_WINDOW) -> None:
    """Check a plan line against its plan's contract boundary and its own values.

    The line must start on/after the global start and (with a global end) start and end on or
    before it (a line without an end runs to the plan's end); end >= start; quantity > 0;
    price and discounts not negative, discounts not bigger than the gross; currency 3 letters.
    """
    c = plan.contract
    check_date("start", line.start, window)
    check_date("end", line.end, window)
    if line.start < c.global_start:
        raise BillingRuleError(
            "start",
            f"the line starts {line.start}, before the plan's global start {c.global_start}",
        )
    if c.global_end is not None:
        if line.start > c.global_end:
            raise BillingRuleError(
                "start", f"the line starts {line.start}, after the plan's global end {c.global_end}"
            )
        if line.end is not None and line.end > c.global_end:
            raise BillingRuleError(
                "end", f"the line ends {line.end}, after the plan's global end {c.global_end}"
            )
    if line.end is not None and line.end < line.start:
        raise BillingRuleError("end", f"{line.end} is before the line's start {line.start}")
    if line.quantity <= 0:
        raise BillingRuleError("quantity", f"must be more than 0, not {line.quantity}")
    if line.sales_price < 0:
        raise BillingRuleError("sales_price", f"must not be negative, not {line.sales_price}")
    if line.discount_amount < 0:
        raise BillingRuleError(
            "discount_amount", f"must not be negative, not {line.discount_amount}"
        )
    if not 0 <= line.discount_percent <= 100:
        raise BillingRuleError(
            "discount_percent", f"must be between 0 and 100, not {line.discount_percent}"
        )
    cur = line.currency or ""
    if len(cur) != 3 or not cur.isalpha() or not cur.isascii():
        raise BillingRuleError("currency", f"must be a 3-letter ISO 4217 code, not {cur!r}")
    line_amounts(
        line.quantity, line.sales_price, line.discount_amount, line.discount_percent, cur
    )
