"""Renewal-notice notifications (seed 003): when a plan asks for them, each Renewal Notice action
sends the contract's details in an HTTP POST to its ERP connector's "Email notification endpoint".

An outbox: the action is the message, ``notified_at`` its delivery mark. Every POST carries an
``Idempotency-Key`` (the action's key) so a receiver can drop a repeat; a failed delivery keeps
its reason on the action and is tried again on the next run. Cancelled notices are not sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import Session, col, select

from connectors.http import ApiClient, ApiError, RetryPolicy
from hub.billing.rules.amounts import round_money
from hub.billing.rules.domain import ActionStatus, ActionType
from hub.platform.db import session
from hub.platform.models import Connector, Organisation, PlanLine, SubscriptionAction, SubscriptionPlan, stored_id
from hub.platform.types import utcnow

#: notices in these states have nothing more to say
_SILENT = (ActionStatus.CANCELLED.value,)


@dataclass
class DeliveryReport:
    sent: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    no_endpoint: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "no_endpoint": self.no_endpoint}


def pending(s: Session) -> list[SubscriptionAction]:
    """Renewal notices of plans that want the notification, not yet delivered nor cancelled."""
    query = (select(SubscriptionAction)
             .join(SubscriptionPlan, col(SubscriptionPlan.id) == col(SubscriptionAction.plan_id))
             .where(SubscriptionAction.action_type == ActionType.RENEWAL_NOTICE.value,
                    col(SubscriptionAction.notified_at).is_(None),
                    col(SubscriptionAction.status).not_in(_SILENT),
                    col(SubscriptionPlan.renewal_notice_notification).is_(True))
             .order_by(col(SubscriptionAction.id)))
    return list(s.exec(query))


def contract_details(s: Session, action: SubscriptionAction) -> dict[str, Any]:
    """The contract's details as the endpoint receives them (JSON; money as decimal strings)."""
    plan = s.get(SubscriptionPlan, action.plan_id)
    assert plan is not None
    customer = s.get(Organisation, plan.organisation_id)
    lines = s.exec(select(PlanLine).where(PlanLine.plan_id == plan.id).order_by(col(PlanLine.id)))
    return {
        "event": "renewal_notice",
        "environment": action.environment,
        "action": {"id": action.id, "key": action.key, "date": action.action_date.isoformat(),
                   "status": action.status},
        "plan": {"id": plan.id, "name": plan.name, "status": plan.status, "salesperson": plan.salesperson,
                 "billing_period": plan.billing_period_type, "reason_code": plan.reason_code},
        "customer": {"id": customer.external_id if customer else None,
                     "name": customer.name if customer else None},
        "contract": {"start": plan.global_start.isoformat(),
                     "end": action.date_to.isoformat() if action.date_to else None,
                     "automatic_renewal": plan.automatic_renewal,
                     "renewal_notice_days": plan.renewal_notice_days},
        "lines": [{"product": ln.product, "quantity": format(ln.quantity.normalize(), "f"),
                   "sales_price": format(ln.sales_price.normalize(), "f"),
                   "amount_after_discount": str(round_money(ln.billing_period_amount_after_discount or 0, ln.currency)),
                   "currency": ln.currency, "enabled": ln.enabled} for ln in lines],
    }


def deliver(environment: str, *, transport: httpx.BaseTransport | None = None,
            retry: RetryPolicy = RetryPolicy(max_attempts=3)) -> DeliveryReport:
    """Send every pending renewal-notice notification once; record what happened on each action."""
    report = DeliveryReport()
    with session(environment) as s:
        outbox = []
        for action in pending(s):
            plan = s.get(SubscriptionPlan, action.plan_id)
            card = s.get(Connector, plan.connector_id) if plan else None
            url = (card.settings or {}).get("notification_url") if card else None
            outbox.append((stored_id(action), action.key, url, contract_details(s, action)))
    for action_id, key, url, details in outbox:
        if not url:
            report.no_endpoint.append({"action": action_id, "key": key})
            continue
        try:
            with ApiClient(url, retry=retry, transport=transport, timeout=15.0) as client:
                client.request("POST", url, json=details, headers={"Idempotency-Key": key})
        except ApiError as exc:
            _mark(environment, action_id, error=f"renewal notification: {exc}")
            report.failed.append({"action": action_id, "key": key, "error": str(exc)})
            continue
        _mark(environment, action_id)
        report.sent.append({"action": action_id, "key": key, "url": url})
    return report


def _mark(environment: str, action_id: int, error: str | None = None) -> None:
    with session(environment) as s:
        action = s.get(SubscriptionAction, action_id)
        assert action is not None
        if error is None:
            action.notified_at, action.error = utcnow(), None
        else:
            action.error = error
        action.updated_at = utcnow()
        s.add(action)
