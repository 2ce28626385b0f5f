"""Firm and post subscription actions into the ERP: exactly one document per action.

Each action is first moved to Firming/Posting in its own short transaction (so a run killed
mid-way leaves it visibly there). Then a second transaction claims the row (hub.platform.claims:
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single write lock on SQLite) and holds it across
the ERP call and the recording of its outcome: a concurrent worker skips an action another one
is working on, and a worker's crash releases the row to the next run, which finishes it by
looking the document up by the action's key. No action ever yields two sales orders, two
invoices or two credit memos, however many workers run at once.

Generate Sales Order: firming creates the ERP sales order, posting ships and invoices it.
Credit Note: firming creates the ERP sales credit memo (applied to the credited invoice),
posting posts it. Renewal notices are only firmed; direct debits post through the payment
gateway (collections).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from connectors.http import ApiError
from hub.billing.actions import (
    FIRM_FROM,
    POST_FROM,
    actions_in,
    claim,
    credited_invoice_id,
    erp_context,
    erp_order_lines,
    settle,
)
from hub.billing.cancellation import of_cancelled_plans
from hub.billing.rules.domain import ActionStatus, ActionType
from hub.platform import audit, claims
from hub.platform.db import session
from hub.platform.models import SubscriptionAction
from hub.sync.pool import LiveConnectors

#: one action's ERP step: (connectors, kind, key, connector, customer, lines, snapshot) -> fields to settle
_Step = Callable[[LiveConnectors, ActionType, str, str, str, list[dict[str, Any]], dict[str, Any]], dict[str, Any]]

@dataclass
class RunReport:
    """What a firm or post run did, per action."""

    done: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"done": self.done, "failed": self.failed, "skipped": self.skipped}


def firm(environment: str, action_ids: Iterable[int] | None = None, *, actor: str | None = None) -> RunReport:
    """Firm due actions: a sales order or credit memo in the ERP, or a hub-only firm."""
    report = _run(environment, action_ids, FIRM_FROM, ActionStatus.FIRMING, _firm_one)
    _audit("action.firm", environment, report, actor)
    return report


#: what posting means in the ERP (renewal notices are only firmed; direct debits are collected)
POSTED_IN_ERP = (ActionType.GENERATE_SALES_ORDER, ActionType.CREDIT_NOTE)


def post(environment: str, action_ids: Iterable[int] | None = None, *, actor: str | None = None) -> RunReport:
    """Post firmed actions: sales orders shipped and invoiced, credit memos posted."""
    report = _run(environment, action_ids, POST_FROM, ActionStatus.POSTING, _post_one, types=POSTED_IN_ERP)
    _audit("action.post", environment, report, actor)
    return report


def _audit(action: str, environment: str, report: RunReport, actor: str | None) -> None:
    """One audit entry per run that touched an action."""
    if report.done or report.failed:
        with session(environment) as s:
            audit.record(s, action, "action", actor=actor, done=[r["action"] for r in report.done],
                         failed=[r["action"] for r in report.failed])


def _run(environment: str, action_ids: Iterable[int] | None, sources: Iterable[ActionStatus],
         into: ActionStatus, step: _Step, types: Iterable[ActionType] | None = None) -> RunReport:
    report = RunReport()
    action_ids = list(action_ids) if action_ids is not None else None
    statuses = [str(x) for x in sources]
    with session(environment) as s:
        due = actions_in(s, statuses, action_ids, types)
        refused = of_cancelled_plans(s, due)
    if action_ids is not None:
        report.skipped = sorted(set(action_ids) - set(due))
    report.failed += [{"action": i, "key": key, "error": why} for i, (key, why) in refused.items()]
    due = [i for i in due if i not in refused]
    erps = LiveConnectors(environment)
    try:
        for action_id in due:
            with session(environment) as s:  # visibly mid-way from here on
                action = claim(s, action_id, into) if _locked(s, action_id, statuses) else None
                if action is None:
                    report.skipped.append(action_id)
                    continue
                kind, key = ActionType(action.action_type), action.key
                connector, customer = erp_context(s, action)
                lines = erp_order_lines(action)
                snapshot = {"order_id": action.order_id, "date": action.action_date, "currency": action.currency,
                            "credit_memo_id": action.credit_memo_id,
                            "applies_to": credited_invoice_id(s, action) if action.credit_note else None}
            erps.get(connector)  # opened before the lock below (on SQLite it would wait for itself)
            with session(environment) as s:  # held across the ERP call: one worker per action
                if not _locked(s, action_id, [str(into)]):
                    report.skipped.append(action_id)  # another worker has it, or finished it
                    continue
                try:
                    outcome = step(erps, kind, key, connector, customer, lines, snapshot)
                except (ApiError, ValueError) as exc:  # back to where it came from, with the reason
                    settle(s, action_id, _back(into), error=str(exc))
                    report.failed.append({"action": action_id, "key": key, "error": str(exc)})
                    continue
                settle(s, action_id, _forward(into), **outcome)
            report.done.append({"action": action_id, "key": key, **{k: str(v) for k, v in outcome.items()}})
    finally:
        erps.close()
    return report


def _locked(s: Session, action_id: int, statuses: list[str]) -> bool:
    """Claim the action for this transaction if it is in one of ``statuses`` and no one else holds it."""
    query = select(SubscriptionAction).where(SubscriptionAction.id == action_id,
                                             col(SubscriptionAction.status).in_(statuses))
    return bool(claims.claim(s, query, 1))


def _back(into: ActionStatus) -> ActionStatus:
    return ActionStatus.NOT_FIRMED if into == ActionStatus.FIRMING else ActionStatus.FIRMED


def _forward(into: ActionStatus) -> ActionStatus:
    return ActionStatus.FIRMED if into == ActionStatus.FIRMING else ActionStatus.POSTED


def _firm_one(erps: LiveConnectors, kind: ActionType, key: str, connector: str, customer: str,
              lines: list[dict[str, Any]], snap: dict[str, Any]) -> dict[str, Any]:
    if kind == ActionType.CREDIT_NOTE:
        memo = erps.get(connector).create_credit_memo(
            key, customer_id=customer, memo_date=snap["date"], invoice_id=snap["applies_to"], lines=lines)
        return {"credit_memo_id": memo.id, "credit_memo_number": memo.number}
    if kind != ActionType.GENERATE_SALES_ORDER:
        return {}  # a renewal notice or direct debit is firmed in the hub alone
    order = erps.get(connector).create_sales_order(
        key, customer_id=customer, order_date=snap["date"], currency_code=None, lines=lines)
    if order.is_invoice:  # an earlier run got as far as invoicing
        return {"order_id": order.record.get("orderId"), "order_number": order.record.get("orderNumber")}
    return {"order_id": order.id, "order_number": order.number}


def _post_one(erps: LiveConnectors, kind: ActionType, key: str, connector: str, customer: str,
              lines: list[dict[str, Any]], snap: dict[str, Any]) -> dict[str, Any]:
    if kind == ActionType.CREDIT_NOTE:
        memo = erps.get(connector).post_credit_memo(snap["credit_memo_id"], key)
        return {"credit_memo_id": memo.id, "credit_memo_number": memo.number,
                "posting_date": _day(memo.record.get("postingDate"))}
    invoice = erps.get(connector).ship_and_invoice(snap["order_id"], key)
    return {"invoice_id": invoice.id, "invoice_number": invoice.number,
            "invoice_date": _day(invoice.record.get("invoiceDate"))}


def _day(value: Any) -> date:
    return date.fromisoformat(str(value)) if value else date.today()
