"""Direct Debit Payment actions (seed 003) collected on their action date through the gateway.

A plan that pays by mandate has, beside each period's Generate Sales Order, a Direct Debit Payment
action dated the same day. Once that sales order is invoiced in the ERP and the invoice has reached
the hub, the action's day debits the customer's mandate for what the invoice still owes — through
collections (bulk pay: one keyed charge, looked up before any re-send, recorded and posted in the
ERP like a card payment). The action is then Posted; when the debit cannot be taken it stays Firmed
with the reason (a declined or returned debit follows the retry schedule like any other), and
waits, saying why, while its sales order is not invoiced or the invoice not synced.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlmodel import Session, col, select

from hub.billing.actions import POST_FROM, claim, erp_context, settle
from hub.billing.cancellation import of_cancelled_plans
from hub.billing.posting import RunReport
from hub.billing.rules.domain import ActionStatus, ActionType
from hub.collections import collect
from hub.platform import audit
from hub.platform.db import session
from hub.platform.models import Connector, Invoice, SubscriptionAction, stored_id
from hub.platform.types import utcnow

#: a debit outcome that settles the action (the invoice is paid, by this debit or otherwise)
SETTLED = ("approved",)
ALREADY_PAID = "already paid"


def collect_due(environment: str, today: date, action_ids: Iterable[int] | None = None, *,
                actor: str | None = None) -> RunReport:
    """Debit the mandate for each Firmed Direct Debit Payment action dated ``today`` or earlier."""
    report = RunReport()
    jobs: list[tuple[int, str, int | None, str | None]] = []  # (action, key, hub invoice, why it waits)
    with session(environment) as s:
        query = select(SubscriptionAction).where(
            col(SubscriptionAction.action_type) == ActionType.DIRECT_DEBIT_PAYMENT.value,
            col(SubscriptionAction.status).in_([str(x) for x in POST_FROM]),
            col(SubscriptionAction.action_date) <= today)
        if action_ids is not None:
            query = query.where(col(SubscriptionAction.id).in_(list(action_ids)))
        due = list(s.exec(query.order_by(col(SubscriptionAction.action_date), col(SubscriptionAction.id))))
        refused = of_cancelled_plans(s, [stored_id(a) for a in due])
        report.failed += [{"action": i, "key": key, "error": why} for i, (key, why) in refused.items()]
        jobs.extend((stored_id(a), a.key, *_invoice_of(s, a)) for a in due if stored_id(a) not in refused)
    for action_id, key, invoice_id, waits in jobs:
        if invoice_id is None:
            with session(environment) as s:
                waiting = s.get(SubscriptionAction, action_id)
                if waiting is not None:
                    waiting.error, waiting.updated_at = waits, utcnow()
            report.skipped.append(action_id)
            continue
        [row] = collect.pay(environment, [invoice_id], actor, today=today)
        with session(environment) as s:
            if claim(s, action_id, ActionStatus.POSTING) is None:  # another worker settled it meanwhile
                report.skipped.append(action_id)
                continue
            if row.status in SETTLED or row.reason == ALREADY_PAID:
                settle(s, action_id, ActionStatus.POSTED, posting_date=today)
                report.done.append({"action": action_id, "key": key, "charge": str(row.key or ""),
                                    "status": row.status, "transaction_id": str(row.transaction_id or "")})
            else:
                why = f"the debit was {row.status}: {row.reason}" if row.reason else f"the debit was {row.status}"
                settle(s, action_id, ActionStatus.FIRMED, error=why)
                report.failed.append({"action": action_id, "key": key, "error": why})
    if report.done or report.failed:
        with session(environment) as s:
            audit.record(s, "action.debit", "action", actor=actor, done=[r["action"] for r in report.done],
                         failed=[r["action"] for r in report.failed])
    return report


def _invoice_of(s: Session, action: SubscriptionAction) -> tuple[int | None, str | None]:
    """The hub invoice the action pays: its period's sales order's ERP invoice; else why it waits."""
    order = s.exec(select(SubscriptionAction).where(
        col(SubscriptionAction.plan_id) == action.plan_id, col(SubscriptionAction.line_id) == action.line_id,
        col(SubscriptionAction.date_from) == action.date_from,
        col(SubscriptionAction.action_type) == ActionType.GENERATE_SALES_ORDER.value)).first()
    if order is None or order.status != ActionStatus.POSTED.value or not order.invoice_id:
        return None, "waits for its period's sales order to be invoiced in the ERP (post it first)"
    erp = erp_context(s, action)
    found = s.exec(select(Invoice.id).join(Connector, col(Connector.id) == col(Invoice.connector_id)).where(
        col(Connector.name) == erp.connector, col(Invoice.external_id) == order.invoice_id)).first()
    if found is None:
        return None, f"waits for ERP invoice {order.invoice_number} to reach the hub (sync {erp.connector})"
    return found, None
