"""Cancelling a subscription plan (seed 003): nothing more is billed, what was posted stays.

Cancelling needs a reason code of the Cancel type (stored on the plan, reported by the churn
report). In the same transaction the plan's Not-firmed actions are cancelled. Its firmed but
unposted sales orders are then deleted from the ERP by :func:`release_orders`, each looked up
by its action's key, so a lost answer or a crash never deletes twice and never leaves one: an
order the ERP invoiced meanwhile is kept and its action recorded Posted. Credit notes are money
owed back to the customer: they stay and go on through firm and post.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from connectors.http import ApiError
from hub.access.roles import allow
from hub.billing.actions import erp_context, settle
from hub.billing.plans import forget_generated, get_plan
from hub.billing.rules import lifecycle
from hub.billing.rules import setup as rules
from hub.billing.rules.domain import ActionStatus, ActionType, PlanStatus, ReasonType
from hub.billing.rules.errors import SubscriptionError
from hub.billing.setup import default_reason_code
from hub.platform import audit, claims
from hub.platform.db import session
from hub.platform.models import ReasonCode, SubscriptionAction, SubscriptionPlan
from hub.platform.types import utcnow
from hub.sync.pool import LiveConnectors

#: what a cancelled plan still lets through: credits owed back to the customer
KEPT_TYPES = (ActionType.CREDIT_NOTE.value,)
#: an ERP order may exist for an action in these states
_ORDERED = (ActionStatus.FIRMING.value, ActionStatus.FIRMED.value, ActionStatus.POSTING.value)


@dataclass
class ReleaseReport:
    """What :func:`release_orders` did: orders deleted, orders found invoiced (kept), failures."""

    deleted: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "kept": self.kept, "failed": self.failed}


def cancel_reason(s: Session, code: str | None) -> str:
    """``code`` if it is a reason code of the Cancel type, else the Cancel type's default."""
    code = code or default_reason_code(s, ReasonType.CANCEL.value)
    if not code:
        raise SubscriptionError("cancelling a plan needs a reason code of the Cancel type (--reason); "
                                "none is given and the Cancel type has no default")
    row = s.exec(select(ReasonCode).where(ReasonCode.code == code)).first()
    if row is None:
        raise SubscriptionError(f"reason: no reason code {code!r}")
    if ReasonType.CANCEL.value not in row.types:
        raise SubscriptionError(f"reason: {code!r} is not a reason code of the Cancel type")
    return code


def cancel_plan(s: Session, plan_id: int, *, reason_code: str | None, by: str) -> list[int]:
    """Cancel a plan with its Cancel reason code; returns the Not-firmed actions it cancelled.

    Its firmed orders are left for :func:`release_orders`, which the caller runs after commit.
    """
    allow(s, "Subscription Plan", "Cancel")
    plan = get_plan(s, plan_id)
    try:
        rules.transition_plan(PlanStatus(plan.status), PlanStatus.CANCELLED)
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    code = cancel_reason(s, reason_code)
    before = plan.status
    plan.status, plan.cancel_reason_code, plan.cancelled_by = PlanStatus.CANCELLED, code, by
    plan.cancelled_at = plan.updated_at = utcnow()
    s.add(plan)
    forget_generated(s, plan_id)
    cancelled = cancel_open_actions(s, plan_id, by=by)
    audit.record(s, "plan.cancel", "plan", plan_id, before={"status": before},
                 after={"status": plan.status, "reason_code": code}, cancelled_actions=cancelled)
    return cancelled


def cancel_open_actions(s: Session, plan_id: int, *, by: str, after: date | None = None) -> list[int]:
    """Cancel the plan's Not-firmed actions (credit notes excepted), or only those dated after
    ``after`` (a plan that ended with its term); their ids."""
    query = select(SubscriptionAction).where(
        SubscriptionAction.plan_id == plan_id, SubscriptionAction.status == ActionStatus.NOT_FIRMED.value,
        col(SubscriptionAction.action_type).not_in(KEPT_TYPES))
    if after is not None:
        query = query.where(col(SubscriptionAction.action_date) > after)
    rows = s.exec(query.order_by(col(SubscriptionAction.id)))
    done: list[int] = []
    for action in rows:
        action.status, action.cancelled_by, action.updated_at = ActionStatus.CANCELLED, by, utcnow()
        s.add(action)
        done.append(action.id or 0)
    s.flush()
    return done


def _stopped() -> Any:
    """Actions a cancelled plan stops (joined with their plan): all but credit notes, and for a plan
    that ended with its term only those dated after it."""
    return and_(col(SubscriptionPlan.status) == PlanStatus.CANCELLED.value,
                col(SubscriptionAction.action_type).not_in(KEPT_TYPES),
                or_(col(SubscriptionPlan.billed_through).is_(None),
                    col(SubscriptionAction.action_date) > col(SubscriptionPlan.billed_through)))


def of_cancelled_plans(s: Session, action_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """The actions among ``action_ids`` that a cancelled plan forbids to firm or post: (key, why) by id."""
    ids = list(action_ids)
    out: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):  # bound parameters stay under every engine's limit
        rows = s.exec(select(SubscriptionAction.id, SubscriptionAction.key, SubscriptionPlan.id).join(
            SubscriptionPlan, col(SubscriptionPlan.id) == col(SubscriptionAction.plan_id)).where(
            col(SubscriptionAction.id).in_(ids[start:start + 500]),
            _stopped()))
        for action_id, key, plan_id in rows:
            out[action_id or 0] = (key, f"plan {plan_id} is cancelled: its actions are no longer firmed or posted")
    return out


def release_orders(environment: str, plan_ids: Iterable[int] | None = None, *, by: str = "hub") -> ReleaseReport:
    """Delete the ERP sales orders of cancelled plans' firmed, unposted actions; cancel the rest.

    Each action is held (claimed) across its ERP call and the recording of the outcome; the ERP
    order is found by the action's key, so any number of runs deletes it once.
    """
    report = ReleaseReport()
    with session(environment) as s:
        query = select(SubscriptionAction.id).join(
            SubscriptionPlan, col(SubscriptionPlan.id) == col(SubscriptionAction.plan_id)).where(
            _stopped(), col(SubscriptionAction.status).in_(_ORDERED))
        if plan_ids is not None:
            query = query.where(col(SubscriptionAction.plan_id).in_(list(plan_ids)))
        todo = [(i, _erp_of(s, i)) for i in s.exec(query.order_by(col(SubscriptionAction.id))) if i is not None]
    with LiveConnectors(environment) as erps:
        for action_id, connector in todo:
            if connector is not None:
                erps.get(connector)  # opened before the lock below (on SQLite it would wait for itself)
            with session(environment) as s:
                held = claims.claim(s, select(SubscriptionAction).where(
                    SubscriptionAction.id == action_id, col(SubscriptionAction.status).in_(_ORDERED)), 1)
                if not held:
                    continue  # another worker has it, or it is settled
                action = held[0]
                row = {"action": action_id, "key": action.key}
                invoice = None
                try:
                    if connector is not None:
                        invoice = erps.get(connector).delete_sales_order(action.key)
                except (ApiError, ValueError) as exc:
                    action.error, action.updated_at = f"deleting the ERP order: {exc}", utcnow()
                    s.add(action)
                    report.failed.append({**row, "error": str(exc)})
                    continue
                if invoice is not None:  # posted meanwhile: kept, and recorded as what it is
                    _settle_posted(s, action, invoice)
                    report.kept.append({**row, "invoice": invoice.number})
                else:
                    _settle_cancelled(s, action, by)
                    report.deleted.append({**row, "order": action.order_number})
    return report


def _erp_of(s: Session, action_id: int) -> str | None:
    """The ERP card holding the action's sales order; None when it has no ERP document."""
    action = s.get(SubscriptionAction, action_id)
    if action is None or action.action_type != ActionType.GENERATE_SALES_ORDER.value:
        return None
    return erp_context(s, action).connector


def _settle_posted(s: Session, action: SubscriptionAction, invoice: Any) -> None:
    assert action.id is not None
    if action.status != ActionStatus.POSTING:
        if action.status == ActionStatus.FIRMING:
            settle(s, action.id, ActionStatus.FIRMED)
        settle(s, action.id, ActionStatus.POSTING)
    settle(s, action.id, ActionStatus.POSTED, invoice_id=invoice.id, invoice_number=invoice.number,
           invoice_date=date.fromisoformat(str(day)) if (day := invoice.record.get("invoiceDate")) else None)


def _settle_cancelled(s: Session, action: SubscriptionAction, by: str) -> None:
    assert action.id is not None
    back = {ActionStatus.FIRMING: ActionStatus.NOT_FIRMED, ActionStatus.POSTING: ActionStatus.FIRMED}
    if action.status in back:
        settle(s, action.id, back[ActionStatus(action.status)])
    lifecycle.transition_action(ActionStatus(action.status), ActionStatus.CANCELLED, by=by)
    action.status, action.cancelled_by, action.error, action.updated_at = ActionStatus.CANCELLED, by, None, utcnow()
    s.add(action)
