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
from decimal import Decimal
from typing import Any, Protocol

from sqlmodel import Session, col, select

from connectors.http import ApiError
from hub.billing.actions import (
    FIRM_FROM,
    POST_FROM,
    ErpContext,
    actions_in,
    claim,
    credited_invoice_id,
    erp_context,
    erp_order_lines,
    line_money,
    settle,
)
from hub.billing.cancellation import of_cancelled_plans
from hub.billing.rules import amounts
from hub.billing.rules.domain import ActionStatus, ActionType
from hub.platform import audit, claims
from hub.platform.db import session
from hub.platform.models import SubscriptionAction
from hub.sync.pool import LiveConnectors

#: one action's ERP step: (connectors, the action as it was claimed) -> fields to settle
_Step = Callable[[LiveConnectors, "Claimed"], dict[str, Any]]


@dataclass(frozen=True)
class Claimed:
    """What a firm or post step needs of its action, read before the ERP call."""

    kind: ActionType
    key: str
    erp: ErpContext
    lines: list[dict[str, Any]]
    net: Decimal
    currency: str
    day: date
    order_id: str | None
    credit_memo_id: str | None
    applies_to: str | None

    @property
    def currency_code(self) -> str | None:
        """The document's currency code: set only when it is not the customer's own (BC's default)."""
        return amounts.document_currency(self.currency, self.erp.customer_currency)


class Mismatch(ValueError):
    """The ERP document's totals are not the action's: ``fields`` say which document it is."""

    def __init__(self, reason: str, **fields: Any) -> None:
        super().__init__(reason)
        self.fields = fields


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
                key = action.key
                try:
                    claimed = _claimed(s, action)
                except ValueError as exc:  # this action cannot go to the ERP at all
                    _failed(s, report, action_id, key, into, exc)
                    continue
            try:
                erps.get(claimed.erp.connector)  # opened before the lock below (on SQLite it would wait for itself)
            except Exception as exc:  # one action's fault must not stop the run
                with session(environment) as s:
                    _failed(s, report, action_id, key, into, exc)
                continue
            with session(environment) as s:  # held across the ERP call: one worker per action
                if not _locked(s, action_id, [str(into)]):
                    report.skipped.append(action_id)  # another worker has it, or finished it
                    continue
                try:
                    outcome = step(erps, claimed)
                except Exception as exc:  # one action's fault must not stop the run
                    _failed(s, report, action_id, key, into, exc)
                    continue
                settle(s, action_id, _forward(into), **outcome)
            report.done.append({"action": action_id, "key": key, **{k: str(v) for k, v in outcome.items()}})
    finally:
        erps.close()
    return report


def _claimed(s: Session, action: SubscriptionAction) -> Claimed:
    kind = ActionType(action.action_type)
    in_erp = kind in POSTED_IN_ERP
    money = line_money(action) if in_erp else None
    return Claimed(
        kind=kind, key=action.key, erp=erp_context(s, action), lines=erp_order_lines(action) if in_erp else [],
        net=money.net if money else Decimal(0), currency=money.currency if money else (action.currency or ""),
        day=action.action_date, order_id=action.order_id, credit_memo_id=action.credit_memo_id,
        applies_to=credited_invoice_id(s, action) if action.credit_note else None)


def _transient(exc: Exception) -> bool:
    """A failure of the way to the ERP (no answer, throttled, its own fault), not of this action."""
    if not isinstance(exc, ApiError):
        return False
    return exc.status_code is None or exc.status_code in (401, 403, 408, 409, 412, 429) or exc.status_code >= 500


def _failed(s: Session, report: RunReport, action_id: int, key: str, into: ActionStatus, exc: Exception) -> None:
    """Record a failed attempt; the run goes on with the next action.

    A transient failure sends the action back to where it came from (the next run retries it);
    anything else — the ERP refusing it, a document that disagrees with it, a fault of the hub —
    sets it aside as Failed with the reason, until an administrator resets it.
    """
    reason = str(exc) if isinstance(exc, ApiError | ValueError) else f"{type(exc).__name__}: {exc}"
    if _transient(exc):
        settle(s, action_id, _back(into), error=reason)
    else:
        settle(s, action_id, ActionStatus.FAILED, error=reason, **getattr(exc, "fields", {}))
    report.failed.append({"action": action_id, "key": key, "error": reason})


def _locked(s: Session, action_id: int, statuses: list[str]) -> bool:
    """Claim the action for this transaction if it is in one of ``statuses`` and no one else holds it."""
    query = select(SubscriptionAction).where(SubscriptionAction.id == action_id,
                                             col(SubscriptionAction.status).in_(statuses))
    return bool(claims.claim(s, query, 1))


def _back(into: ActionStatus) -> ActionStatus:
    return ActionStatus.NOT_FIRMED if into == ActionStatus.FIRMING else ActionStatus.FIRMED


def _forward(into: ActionStatus) -> ActionStatus:
    return ActionStatus.FIRMED if into == ActionStatus.FIRMING else ActionStatus.POSTED


class _Document(Protocol):
    """An ERP document as the connector hands it back."""

    @property
    def number(self) -> str | None: ...

    @property
    def record(self) -> dict[str, Any]: ...


def _checked(claimed: Claimed, document: _Document, what: str, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` when the ERP document totals the action's net to the cent; else a Mismatch."""
    reason = amounts.erp_total_mismatch(
        f"ERP {what} {document.number}", document.record.get("totalAmountExcludingTax"),
        document.record.get("currencyCode"), claimed.net, claimed.currency, claimed.erp.customer_currency)
    if reason is not None:
        raise Mismatch(reason, **fields)
    return fields


def _firm_one(erps: LiveConnectors, claimed: Claimed) -> dict[str, Any]:
    erp, key = claimed.erp, claimed.key
    if claimed.kind == ActionType.CREDIT_NOTE:
        memo = erps.get(erp.connector).create_credit_memo(
            key, customer_id=erp.customer, memo_date=claimed.day, invoice_id=claimed.applies_to,
            currency_code=claimed.currency_code, lines=claimed.lines)
        return _checked(claimed, memo, "sales credit memo",
                        {"credit_memo_id": memo.id, "credit_memo_number": memo.number})
    if claimed.kind != ActionType.GENERATE_SALES_ORDER:
        return {}  # a renewal notice or direct debit is firmed in the hub alone
    order = erps.get(erp.connector).create_sales_order(
        key, customer_id=erp.customer, order_date=claimed.day, currency_code=claimed.currency_code,
        lines=claimed.lines)
    if order.is_invoice:  # an earlier run got as far as invoicing
        fields = {"order_id": order.record.get("orderId"), "order_number": order.record.get("orderNumber")}
        return _checked(claimed, order, "sales invoice", fields)
    return _checked(claimed, order, "sales order", {"order_id": order.id, "order_number": order.number})


def _post_one(erps: LiveConnectors, claimed: Claimed) -> dict[str, Any]:
    """Post the action's document, then read its totals back: a cent's difference fails the action."""
    erp = erps.get(claimed.erp.connector)
    if claimed.kind == ActionType.CREDIT_NOTE:
        memo = erp.post_credit_memo(claimed.credit_memo_id, claimed.key)
        return _checked(claimed, memo, "sales credit memo",
                        {"credit_memo_id": memo.id, "credit_memo_number": memo.number,
                         "posting_date": _day(memo.record.get("postingDate"))})
    invoice = erp.ship_and_invoice(claimed.order_id, claimed.key)
    return _checked(claimed, invoice, "sales invoice",
                    {"invoice_id": invoice.id, "invoice_number": invoice.number,
                     "invoice_date": _day(invoice.record.get("invoiceDate"))})


def _day(value: Any) -> date:
    return date.fromisoformat(str(value)) if value else date.today()
