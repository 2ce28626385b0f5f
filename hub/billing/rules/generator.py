"""HARP Connect: turn published plans into the subscription actions due by a date.

Pure and idempotent: every action has a deterministic key; keys already stored are passed in
``existing_keys`` and skipped, so any number of runs creates each action once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta
from functools import lru_cache

from hub.billing.rules.amounts import line_amounts
from hub.billing.rules.domain import (
    ActionDraft,
    ActionType,
    BillingPeriod,
    ContractDefinition,
    GeneratorResult,
    LineTerms,
    PlanStatus,
    PlanTerms,
)
from hub.billing.rules.errors import BillingRuleError
from hub.billing.rules.periods import Period, cycles_end, periods

#: the ERP's externalDocumentNumber holds at most 35 characters
MAX_KEY_LENGTH = 35

TYPE_CODES: dict[ActionType, str] = {
    ActionType.GENERATE_SALES_ORDER: "SO",
    ActionType.DIRECT_DEBIT_PAYMENT: "DD",
    ActionType.RENEWAL_NOTICE: "RN",
    ActionType.CREDIT_NOTE: "CN",
}
_TYPE_ORDER = {t: i for i, t in enumerate(TYPE_CODES)}


def check_key(key: str) -> str:
    """Return ``key`` if it fits the ERP's 35-character document number, else raise."""
    if len(key) > MAX_KEY_LENGTH:
        raise BillingRuleError(
            "key", f"{key!r} has {len(key)} characters; the ERP allows {MAX_KEY_LENGTH}"
        )
    return key


def action_key(plan_id: int, line_id: int, period_start: date, action_type: ActionType) -> str:
    """Return the key of a line's action for one period: ``P7-L12-2024-01-31-SO``."""
    return check_key(
        f"P{plan_id}-L{line_id}-{period_start.isoformat()}-{TYPE_CODES[action_type]}"
    )


def notice_key(plan_id: int, global_end: date) -> str:
    """Return the key of a plan's renewal notice for a contract end: ``P7-RN-2024-12-31``."""
    return check_key(f"P{plan_id}-RN-{global_end.isoformat()}")


def sort_key(action: ActionDraft) -> tuple[int, bool, int, date, int, str]:
    """Deterministic order: plan, line (plan-level actions last), date, type, key."""
    return (
        action.plan_id,
        action.line_id is None,
        action.line_id or 0,
        action.action_date,
        _TYPE_ORDER[action.action_type],
        action.key,
    )


def effective_end(contract: ContractDefinition, billing: BillingPeriod) -> date | None:
    """Return the current term's last day (inclusive), or None when the contract is open-ended.

    That is the global end, or the last day of ``fixed_cycles`` periods counted from the term's
    start (the global start until a renewal starts a new term); with both, whichever comes first.
    """
    ends: list[date] = []
    if contract.global_end is not None:
        ends.append(contract.global_end)
    if contract.fixed_cycles is not None:
        ends.append(cycles_end(contract.current_term_start, billing, contract.fixed_cycles))
    return min(ends) if ends else None


def _line_periods(plan: PlanTerms, line: LineTerms, as_of: date) -> tuple[Period, ...]:
    bound = effective_end(plan.contract, plan.billing)
    if line.end is not None:
        bound = line.end if bound is None else min(bound, line.end)
    return _periods(line.start, plan.billing, as_of, bound, 1 if line.one_time_fee else None)


@lru_cache(maxsize=4096)
def _periods(
    start: date, billing: BillingPeriod, until: date, end: date | None, max_cycles: int | None
) -> tuple[Period, ...]:
    """:func:`periods`, computed once for all the lines that share a start and terms."""
    return tuple(periods(start, billing, until=until, end=end, max_cycles=max_cycles))


def current_cycle(plan: PlanTerms, line: LineTerms, as_of: date) -> Period | None:
    """Return the line's billing period that contains ``as_of`` (its current cycle), or None
    before the line starts and after its last period (line end, contract end, one-time fee)."""
    return _current(_line_periods(plan, line, as_of), as_of)


def _current(billed: tuple[Period, ...], as_of: date) -> Period | None:
    if billed and billed[-1].start <= as_of <= billed[-1].end:
        return billed[-1]
    return None


def nothing_due(
    line: LineTerms, as_of: date, generated_through: date | None, cycle: tuple[date, date] | None
) -> bool:
    """True when a run on ``as_of`` would neither create an action for ``line`` nor move its
    current ``cycle``, given that a run on ``generated_through`` made all its actions due then.

    That holds while ``as_of`` (not before ``generated_through``) stays inside the same cycle,
    before the line starts, or after its last period. Any change to the line or its plan must
    clear ``generated_through`` (None: never skip).
    """
    if generated_through is None or as_of < generated_through:
        return False
    if cycle is not None:
        return as_of <= cycle[1]
    return as_of < line.start or generated_through >= line.start


def _line_actions(plan: PlanTerms, line: LineTerms, billed: tuple[Period, ...]) -> list[ActionDraft]:
    try:
        gross, net = line_amounts(
            line.quantity, line.sales_price, line.discount_amount, line.discount_percent,
            line.currency,
        )
    except BillingRuleError as exc:
        raise BillingRuleError(
            f"plan {plan.plan_id} line {line.line_id} {exc.field}", exc.reason
        ) from exc
    types = [ActionType.GENERATE_SALES_ORDER]
    if plan.pays_by_mandate:
        types.append(ActionType.DIRECT_DEBIT_PAYMENT)
    if billed:  # every period's key has the length of the first's: check it once
        for action_type in types:
            action_key(plan.plan_id, line.line_id, billed[0].start, action_type)
    prefix = f"P{plan.plan_id}-L{line.line_id}-"
    codes = [(t, f"-{TYPE_CODES[t]}") for t in types]
    reason_code = line.reason_code or plan.reason_code
    out: list[ActionDraft] = []
    for period in billed:
        day = prefix + period.start.isoformat()
        for action_type, code in codes:
            out.append(
                ActionDraft(
                    key=day + code,
                    plan_id=plan.plan_id,
                    line_id=line.line_id,
                    action_type=action_type,
                    action_date=period.start,
                    date_from=period.start,
                    date_to=period.end,
                    cycle=period.cycle,
                    product=line.product,
                    quantity=line.quantity,
                    sales_price=line.sales_price,
                    discount_amount=line.discount_amount,
                    discount_percent=line.discount_percent,
                    gross_amount=gross,
                    net_amount=net,
                    currency=line.currency,
                    unit=line.unit,
                    reason_code=reason_code,
                )
            )
    return out


def _renewal_notice(plan: PlanTerms, as_of: date) -> ActionDraft | None:
    contract = plan.contract
    if not contract.renewal_notice:
        return None
    end = effective_end(contract, plan.billing)
    if end is None:
        return None
    # 0 days: no notice period, the notice is dated the term's last day
    notice_date = max(end - timedelta(days=contract.renewal_notice_days), contract.current_term_start)
    if notice_date > as_of:
        return None
    return ActionDraft(
        key=notice_key(plan.plan_id, end),
        plan_id=plan.plan_id,
        line_id=None,
        action_type=ActionType.RENEWAL_NOTICE,
        action_date=notice_date,
        date_from=contract.current_term_start,
        date_to=end,
        cycle=None,
    )


def _plural(n: int) -> str:
    return f"{n} action" if n == 1 else f"{n} actions"


def generate(
    plans: Iterable[PlanTerms],
    as_of: date,
    *,
    existing_keys: Collection[str] = (),
    allowance: int | None = None,
) -> GeneratorResult:
    """Return the actions due by ``as_of`` that do not exist yet.

    For each Published plan and enabled line: a Generate Sales Order per billing period (billed
    up-front, dated at the period start, periods anchored at the line's start, stopping at the
    line end and the contract's effective end, the last period clipped), plus a Direct Debit
    Payment per sales order when the plan pays by mandate. One-time fee lines bill cycle 1 only
    and are listed in ``lines_to_disable`` once all their cycle-1 actions exist. A plan with a
    renewal notice and an effective end gets one Renewal Notice dated end - notice days.

    ``cycles`` gives each line's current cycle (see :func:`current_cycle`). Keys in
    ``existing_keys`` are skipped. ``allowance`` is what is left of the month's
    allowance (see :mod:`hub.billing.allowance`): at most that many new actions are returned (in
    the deterministic order); when more were due, ``stopped`` says so in plain words.

    Raises:
        BillingRuleError: a line's amounts are invalid (the error names the plan and line), or
        a key would exceed 35 characters.
    """
    if allowance is not None and allowance < 0:
        raise BillingRuleError("allowance", f"must not be negative, not {allowance}")
    existing = set(existing_keys)
    due: dict[str, ActionDraft] = {}
    one_time: dict[tuple[int, int], list[str]] = {}
    cycles: dict[int, tuple[date, date] | None] = {}
    for plan in sorted(plans, key=lambda p: p.plan_id):
        if plan.status != PlanStatus.PUBLISHED:
            continue
        for line in sorted(plan.lines, key=lambda ln: ln.line_id):
            billed = _line_periods(plan, line, as_of)
            current = _current(billed, as_of)
            cycles[line.line_id] = (current.start, current.end) if current else None
            if not line.enabled:
                continue
            actions = _line_actions(plan, line, billed)
            if line.one_time_fee and actions:
                one_time[(plan.plan_id, line.line_id)] = [a.key for a in actions]
            for action in actions:
                due.setdefault(action.key, action)
        notice = _renewal_notice(plan, as_of)
        if notice is not None:
            due.setdefault(notice.key, notice)

    # ``due`` was filled in sort_key's order (plans, lines, then the plan's notice; dates, types)
    new = [a for k, a in due.items() if k not in existing]
    stopped: str | None = None
    if allowance is not None and len(new) > allowance:
        waiting = len(new) - allowance
        new = new[:allowance]
        stopped = (
            f"the monthly allowance of {_plural(allowance)} is used up; "
            f"{waiting} more {'action waits' if waiting == 1 else 'actions wait'}"
        )
    present = existing | {a.key for a in new}
    disable = sorted(
        ident[1] for ident, keys in one_time.items() if all(k in present for k in keys)
    )
    return GeneratorResult(actions=new, lines_to_disable=disable, stopped=stopped, cycles=cycles)
