"""Billing reports read from the store: churn by cancel reason code and period."""

from __future__ import annotations

from sqlmodel import Session, select

from hub.billing.rules.churn import Cancellation, ChurnRow, churn_by_reason
from hub.billing.rules.dashboard import Filters
from hub.billing.rules.domain import PlanStatus
from hub.platform.models import SubscriptionPlan, stored_id


def churn(s: Session, f: Filters) -> list[ChurnRow]:
    """Cancelled plans per period and Cancel reason code (a plan cancelled before reasons were
    captured counts on the day of its last change, under no reason)."""
    plans = s.exec(select(SubscriptionPlan).where(SubscriptionPlan.status == PlanStatus.CANCELLED.value))
    return churn_by_reason([Cancellation(stored_id(p), p.organisation_id, p.cancel_reason_code,
                                         (p.cancelled_at or p.updated_at).date()) for p in plans], f)
