"""Subscription action lifecycle and contract renewal (seed 003)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Literal

from hub.billing.rules.domain import ActionStatus, BillingPeriod, ContractDefinition
from hub.billing.rules.errors import BillingRuleError
from hub.billing.rules.generator import effective_end
from hub.platform.calendar import add_months

S = ActionStatus

#: action status -> the statuses it may move to
ACTION_TRANSITIONS: dict[ActionStatus, frozenset[ActionStatus]] = {
    S.NOT_FIRMED: frozenset({S.FIRMING, S.CANCELLED}),
    # Not firmed again when firming fails for a while (the ERP unreachable), or by an
    # administrator's reset; Failed when the ERP refuses this action
    S.FIRMING: frozenset({S.FIRMED, S.NOT_FIRMED, S.FAILED}),
    S.FIRMED: frozenset({S.POSTING, S.CANCELLED}),
    S.POSTING: frozenset({S.POSTED, S.FIRMED, S.FAILED}),  # as Firming, one step on
    S.POSTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.FAILED: frozenset({S.NOT_FIRMED}),  # an administrator's reset
}

RenewalDecision = Literal["renew", "end", "cancel", "keep"]


def transition_action(
    current: ActionStatus, target: ActionStatus, *, by: str | None = None
) -> ActionStatus:
    """Return ``target`` if an action may move there from ``current``.

    Not firmed -> Firming -> Firmed -> Posting -> Posted; Firming -> Not firmed (a failed
    firm); Posting -> Firmed (a failed post); Not firmed/Firmed -> Cancelled, which needs
    ``by`` (who cancelled it).
    """
    cur, tgt = ActionStatus(current), ActionStatus(target)
    if tgt not in ACTION_TRANSITIONS[cur]:
        raise BillingRuleError("status", f"a {cur.value} action cannot become {tgt.value}")
    if tgt == S.CANCELLED and not (by and by.strip()):
        raise BillingRuleError("cancelled_by", "cancelling an action needs the user who cancels it")
    return tgt


def reset_target(status: ActionStatus) -> ActionStatus:
    """Where an administrator's reset takes a Failed action or one a crash left mid-way.

    Failed and Firming go back to Not firmed: firming looks the key up first, so it takes up the
    ERP document an earlier attempt made (never a second one) and checks its totals again before
    anything is invoiced. Posting goes back to Firmed: posting finds its invoice by key.

    Raises:
        BillingRuleError: the action is neither Failed, Firming nor Posting.
    """
    if status not in (S.FAILED, S.FIRMING, S.POSTING):
        raise BillingRuleError(
            "status", f"only a Failed, Firming or Posting action can be reset, not a {ActionStatus(status).value} one")
    return S.FIRMED if status == S.POSTING else S.NOT_FIRMED


def assert_action_editable(status: ActionStatus) -> None:
    """Only Not firmed actions may be edited."""
    if status != S.NOT_FIRMED:
        raise BillingRuleError(
            "status",
            f"a {ActionStatus(status).value} action cannot be edited; only Not firmed actions can",
        )


def renewal_decision(
    notice_status: ActionStatus | None,
    plan_end: date,
    today: date,
    *,
    automatic_renewal: bool = False,
) -> RenewalDecision:
    """Decide what happens to a plan once its term is over (``plan_end`` is its last day).

    Up to and including the end date: "keep" (a notice may still be firmed on the last day).
    After it: a firmed (or posted) renewal notice -> "renew" (the next term starts the day
    after the end); a cancelled notice -> "end" (the plan is not renewed); a notice not firmed
    by the end date -> "cancel" the plan. Without a notice (None) the contract's automatic
    renewal decides: "renew" or "end".
    """
    if today <= plan_end:
        return "keep"
    if notice_status is None:
        return "renew" if automatic_renewal else "end"
    status = ActionStatus(notice_status)
    if status in (S.FIRMED, S.POSTING, S.POSTED):
        return "renew"
    if status == S.CANCELLED:
        return "end"
    return "cancel"


def _whole_months(start: date, after_end: date) -> int | None:
    """Return n when ``after_end`` is ``start`` + n months (anchor day kept), else None."""
    n = (after_end.year - start.year) * 12 + after_end.month - start.month
    for m in (n - 1, n, n + 1):
        if m >= 1 and add_months(start, m) == after_end:
            return m
    return None


def renewed_contract(contract: ContractDefinition, billing: BillingPeriod) -> ContractDefinition:
    """Return the contract for the next term: the same term again from the day after the end.

    The new term starts the day after the current term's end (``term_start``; the global start
    stays the plan's boundary). Its length is the current term's — not the contract's so far —
    in whole months when that was whole months (anchor day kept), else in days. Fixed cycles
    count per term, so they are kept, as are the renewal settings.

    Raises:
        BillingRuleError: the contract has no end (neither global end nor fixed cycles).
    """
    end = effective_end(contract, billing)
    if end is None:
        raise BillingRuleError(
            "global_end", "an open-ended contract (no global end, no fixed cycles) cannot renew"
        )
    term = contract.current_term_start
    new_start = end + timedelta(days=1)
    new_end: date | None = None
    if contract.global_end is not None:
        months = _whole_months(term, new_start)
        if months is not None:
            new_end = add_months(new_start, months) - timedelta(days=1)
        else:
            new_end = new_start + (end - term)
    return replace(contract, term_start=new_start, global_end=new_end)


__all__ = [
    "ACTION_TRANSITIONS",
    "RenewalDecision",
    "assert_action_editable",
    "renewal_decision",
    "renewed_contract",
    "reset_target",
    "transition_action",
]
