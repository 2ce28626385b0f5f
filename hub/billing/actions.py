"""Subscription actions in the store: edit, claim for firming or posting, settle, cancel.

An action caught mid-way (Firming, Posting) is finished by looking its ERP document up by its
key (:mod:`hub.billing.posting`): never a second document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from hub.access.roles import allow
from hub.billing.plans import date_window, get_plan, only_editable, require_erp_card
from hub.billing.rules import amounts, lifecycle
from hub.billing.rules import setup as rules
from hub.billing.rules.domain import (
    ActionStatus,
    ActionType,
)
from hub.billing.rules.errors import SubscriptionError
from hub.platform import audit
from hub.platform.models import (
    Connector,
    Organisation,
    SubscriptionAction,
)
from hub.platform.types import utcnow

ACTION_EDITABLE = ("quantity", "sales_price", "discount_amount", "discount_percent", "action_date", "reason_code")


def edit_action(s: Session, action_id: int, **changes: Any) -> SubscriptionAction:
    """Change a Not-firmed action; its amounts are derived again, rounded once."""
    allow(s, "Subscription Actions", "Edit")
    action = s.get(SubscriptionAction, action_id)
    if action is None:
        raise SubscriptionError(f"no action {action_id}")
    only_editable(changes, ACTION_EDITABLE, "an action")
    before = {name: getattr(action, name) for name in changes}
    try:
        lifecycle.assert_action_editable(ActionStatus(action.status))
        rules.check_date("action_date", changes.get("action_date"), date_window())
        if changes.get("quantity") is not None and changes["quantity"] <= 0:  # nothing to invoice: cancel it
            raise rules.BillingRuleError("quantity", f"must be more than 0, not {changes['quantity']}; "
                                         "cancel the action instead")
        for name, value in changes.items():
            setattr(action, name, value)
        if action.quantity is not None and action.sales_price is not None and action.currency:
            action.gross_amount, action.net_amount = amounts.line_amounts(
                action.quantity, action.sales_price, action.discount_amount, action.discount_percent, action.currency)
    except (rules.BillingRuleError, ValueError) as exc:
        raise SubscriptionError(str(exc)) from None
    action.updated_at = utcnow()
    s.add(action)
    audit.record(s, "action.edit", "action", action_id, before=before, after=changes)
    return action


#: where a firm or post run picks actions up: due ones, and those a crash left mid-way
FIRM_FROM = (ActionStatus.NOT_FIRMED, ActionStatus.FIRMING)


POST_FROM = (ActionStatus.FIRMED, ActionStatus.POSTING)


def actions_in(s: Session, statuses: Iterable[str], ids: Iterable[int] | None = None,
               types: Iterable[str] | None = None) -> list[int]:
    query = select(SubscriptionAction.id).where(col(SubscriptionAction.status).in_([str(x) for x in statuses]))
    if types is not None:
        query = query.where(col(SubscriptionAction.action_type).in_([str(t) for t in types]))
    if ids is not None:
        query = query.where(col(SubscriptionAction.id).in_(list(ids)))
    # ids only (a billing run has hundreds of thousands); a stored row's id is never None
    return [action_id for action_id in s.exec(query.order_by(col(SubscriptionAction.id))) if action_id is not None]


def claim(s: Session, action_id: int, into: ActionStatus) -> SubscriptionAction | None:
    """Move an action into Firming/Posting, or take one a crash left there; None when not due."""
    action = s.get(SubscriptionAction, action_id)
    if action is None:
        raise SubscriptionError(f"no action {action_id}")
    if action.status == into:
        return action  # left mid-way: the ERP lookup by key decides what is still to do
    source = ActionStatus.NOT_FIRMED if into == ActionStatus.FIRMING else ActionStatus.FIRMED
    if action.status != source:
        return None
    lifecycle.transition_action(ActionStatus(action.status), into)
    action.status, action.updated_at, action.error = into, utcnow(), None
    s.add(action)
    return action


def settle(s: Session, action_id: int, into: ActionStatus, *, error: str | None = None, **fields: Any) -> None:
    """Record the outcome of a firm/post attempt (or its failure, back to where it came from)."""
    action = s.get(SubscriptionAction, action_id)
    assert action is not None
    lifecycle.transition_action(ActionStatus(action.status), into)
    for name, value in fields.items():
        setattr(action, name, value)
    action.status, action.error, action.updated_at = into, error, utcnow()
    s.add(action)


def cancel(s: Session, action_ids: Iterable[int], *, by: str) -> int:
    allow(s, "Subscription Actions", "Cancel")
    done = 0
    for action_id in action_ids:
        action = s.get(SubscriptionAction, action_id)
        if action is None:
            raise SubscriptionError(f"no action {action_id}")
        try:
            lifecycle.transition_action(ActionStatus(action.status), ActionStatus.CANCELLED, by=by)
        except rules.BillingRuleError as exc:
            raise SubscriptionError(f"action {action_id}: {exc}") from None
        action.status, action.cancelled_by, action.updated_at = ActionStatus.CANCELLED, by, utcnow()
        s.add(action)
        done += 1
        audit.record(s, "action.cancel", "action", action_id, by=by)
    return done


@dataclass(frozen=True)
class ErpContext:
    """Where an action's documents go: the ERP card's name, the customer's id and currency there."""

    connector: str
    customer: str
    customer_currency: str | None


def erp_context(s: Session, action: SubscriptionAction) -> ErpContext:
    """The ERP card and customer of an action's plan.

    Raises:
        SubscriptionError: the plan's card is not an ERP card (a plan made before that was checked).
    """
    plan = get_plan(s, action.plan_id)
    customer = s.get(Organisation, plan.organisation_id)
    card = s.get(Connector, plan.connector_id)
    assert customer is not None and card is not None
    require_erp_card(card)
    return ErpContext(card.name, customer.external_id, customer.currency)


def credited_invoice_id(s: Session, action: SubscriptionAction) -> str | None:
    """The ERP invoice a credit note credits: that of the line's sales order for the same period."""
    return s.exec(select(SubscriptionAction.invoice_id).where(
        SubscriptionAction.line_id == action.line_id, SubscriptionAction.date_from == action.date_from,
        SubscriptionAction.action_type == ActionType.GENERATE_SALES_ORDER.value,
        col(SubscriptionAction.credit_note).is_(False), col(SubscriptionAction.invoice_id).is_not(None))).first()


def line_money(action: SubscriptionAction) -> amounts.LineMoney:
    """The action's gross, discount and net, as :func:`amounts.line_money` computes them."""
    if action.quantity is None or action.sales_price is None or not action.currency:
        raise SubscriptionError(f"action {action.id} ({action.key}) has no quantity, price or currency to invoice")
    return amounts.line_money(action.quantity, action.sales_price, action.discount_amount, action.discount_percent,
                              action.currency)


def erp_order_lines(action: SubscriptionAction) -> list[dict[str, Any]]:
    """The ERP document line of an action: everything it has, the discount to the cent.

    The discount goes as one amount (the action's discount amount and percent together): BC keeps
    an amount as sent and derives its percent, while a percent it would round on its own.
    """
    money = line_money(action)
    terms = []
    if action.discount_percent:
        terms.append(f"{action.discount_percent.normalize():f}%")
    if action.discount_amount:
        terms.append(f"{action.discount_amount.normalize():f} {money.currency}")
    off = f", less {' + '.join(terms)}" if terms else ""
    period = f" {action.date_from} to {action.date_to}" if action.date_from and action.date_to else ""
    return [{"item_number": action.product, "quantity": action.quantity, "unit_price": action.sales_price,
             "discount_amount": money.discount, "unit_of_measure": action.unit,
             "description": f"{action.product}{period}{off}"}]


def reset(s: Session, action_ids: Iterable[int], *, by: str) -> list[tuple[int, str]]:
    """An administrator's reset of Failed actions, or of ones a crash left in Firming/Posting.

    Failed and Firming go back to Not firmed, Posting to Firmed; the next firm or post run finds
    any document an earlier attempt made by the action's key (and checks its totals again), so
    nothing is made twice. All or nothing (the caller's transaction). Returns (id, new status).
    """
    allow(s, "Subscription Actions", "Reset")
    done = []
    for action_id in action_ids:
        action = s.get(SubscriptionAction, action_id)
        if action is None:
            raise SubscriptionError(f"no action {action_id}")
        try:
            target = lifecycle.reset_target(ActionStatus(action.status))
        except rules.BillingRuleError as exc:
            raise SubscriptionError(f"action {action_id}: {exc}") from None
        audit.record(s, "action.reset", "action", action_id, by=by, before={"status": action.status,
                                                                            "error": action.error},
                     after={"status": target.value})
        action.status, action.updated_at = target.value, utcnow()
        s.add(action)
        done.append((action_id, target.value))
    return done
