"""Credit notes for a plan line's posted billing periods (seed 003, "Credit Note")."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from hub.billing.rules.domain import ActionDraft, ActionType, LineTerms, PlanStatus, PlanTerms
from hub.billing.rules.errors import BillingRuleError
from hub.billing.rules.generator import MAX_KEY_LENGTH, check_key


def credit_key(original_key: str) -> str:
    """Return the credit note's key: ``<original>-CN``, or a deterministic 35-char digest.

    When ``<original>-CN`` is too long the key becomes ``CN-`` + the first 32 hex digits of
    the original key's SHA-256, so the same original always gives the same credit key.
    """
    key = f"{original_key}-CN"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(original_key.encode()).hexdigest()
    return check_key(f"CN-{digest[: MAX_KEY_LENGTH - 3]}")


def credit_note_actions(
    plan: PlanTerms,
    line: LineTerms,
    posted: Sequence[ActionDraft],
    *,
    start_on: date,
    today: date,
    all_cycles: bool,
    periods_to_credit: int | None,
    reason_code: str,
) -> list[ActionDraft]:
    """Return Credit Note actions crediting a line's posted sales orders.

    ``posted`` are the line's Posted actions. The posted Generate Sales Order actions whose
    period starts on/after ``start_on`` (and on/before ``today``) are credited in period order:
    all of them when ``all_cycles``, else the first ``periods_to_credit``. Each credit copies
    the period, cycle and (positive) amounts, is dated ``today``, carries ``reason_code`` and
    ``credit_note=True``, and is keyed ``<original key>-CN``.

    Raises:
        BillingRuleError: the plan is not Draft; the line has no posted action; ``start_on``
        is before the global start or after today; ``periods_to_credit`` is missing or below 1
        without ``all_cycles``, or more than the posted periods there are to credit; no reason.
    """
    if plan.status != PlanStatus.DRAFT:
        raise BillingRuleError(
            "plan status",
            f"credit notes need the plan in Draft; plan {plan.plan_id} is {plan.status.value}",
        )
    mine = [a for a in posted if a.line_id == line.line_id and a.plan_id == plan.plan_id]
    if not mine:
        raise BillingRuleError(
            "line", f"line {line.line_id} has no posted action, so there is nothing to credit"
        )
    start = plan.contract.global_start
    if not start <= start_on <= today:
        raise BillingRuleError(
            "start_on", f"{start_on} must be between the plan's start {start} and today {today}"
        )
    if not reason_code or not reason_code.strip():
        raise BillingRuleError("reason_code", "a credit note needs a reason code")
    if not all_cycles and (periods_to_credit is None or periods_to_credit < 1):
        raise BillingRuleError(
            "periods_to_credit",
            f"give the number of billing periods to credit (at least 1), not {periods_to_credit}",
        )
    candidates = sorted(
        (
            a
            for a in mine
            if a.action_type == ActionType.GENERATE_SALES_ORDER
            and not a.credit_note
            and a.date_from is not None
            and start_on <= a.date_from <= today
        ),
        key=lambda a: (a.date_from, a.key),
    )
    if not candidates:
        raise BillingRuleError(
            "start_on",
            f"no posted billing period of line {line.line_id} starts on or after {start_on}",
        )
    if not all_cycles:
        assert periods_to_credit is not None
        if periods_to_credit > len(candidates):
            raise BillingRuleError(
                "periods_to_credit",
                f"{periods_to_credit} periods asked but only {len(candidates)} posted periods of "
                f"line {line.line_id} start on or after {start_on}",
            )
        candidates = candidates[:periods_to_credit]
    return [
        replace(
            a,
            key=credit_key(a.key),
            action_type=ActionType.CREDIT_NOTE,
            action_date=today,
            reason_code=reason_code,
            credit_note=True,
        )
        for a in candidates
    ]
