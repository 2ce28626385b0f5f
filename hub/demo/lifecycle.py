"""The demo's plan lifecycle (seed 003): a contract that renews for its term, and a plan cancelled
with its reason after it was firmed — its ERP sales order deleted, nothing of it invoiced."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from hub.billing import cancellation, setup
from hub.billing import plans as plan_service
from hub.platform.db import session
from hub.platform.models import Product, ReasonCode, SubscriptionAction, SubscriptionPlan
from hub.sync import cards

CANCEL_REASON = "MOVED"


def erp_item(s: Session, erp_connector: str) -> Product:
    """The ERP's first item that may be sold (the demo's plans and penalties bill it)."""
    item = s.exec(select(Product).where(Product.connector_id == cards.get(s, erp_connector).id,
                                        col(Product.is_blocked).is_(False)).order_by(col(Product.id))).first()
    if item is None:
        raise ValueError(f"the ERP card {erp_connector} synced no item that may be sold")
    return item


def seed_lifecycle(environment: str, erp_connector: str, first_plan: int) -> dict[str, int]:
    """Two more plans for the customer of ``first_plan``: a one-month contract that ended yesterday
    and renews automatically, and a plan of this month that the demo cancels once it is firmed."""
    today = date.today()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    with session(environment) as s:
        for code, kind, description in ((CANCEL_REASON, "Cancel", "Customer moved to another provider"),
                                        ("RENEWAL", "Renewal", "Contract renewed")):
            if not s.exec(select(ReasonCode).where(ReasonCode.code == code)).first():
                setup.create_reason_code(s, code, [kind], default_for=[kind], description=description)
        first = plan_service.get_plan(s, first_plan)
        customer = plan_service.plan_terms(s, first).customer
        item = erp_item(s, erp_connector)
        line_currency = plan_service.plan_terms(s, first).lines[0].currency  # the customer's, as seed_billing
        made = {}
        for kind, start, end, renews in (("renewing", last_month, this_month - timedelta(days=1), True),
                                         ("cancelled", this_month, None, False)):
            plan = plan_service.create_plan(s, plan_service.PlanRequest(
                name=f"Support desk ({kind} in the demo)", connector=erp_connector, customer=customer,
                program_type="Managed services", billing_period_type="Monthly", global_start=start, global_end=end,
                automatic_renewal=renews))
            assert plan.id is not None and item is not None
            plan_service.add_line(s, plan.id, product=item.number, quantity=Decimal("1"),
                                  sales_price=item.unit_price or Decimal("10"), currency=line_currency)
            plan_service.set_plan_status(s, plan.id, "Published")
            made[kind] = plan.id
        return made


def cancel_with_reason(environment: str, plan_id: int, actor: str) -> dict[str, Any]:
    """Cancel the plan with the demo's Cancel reason: its firmed ERP orders are deleted."""
    with session(environment) as s:
        cancelled = cancellation.cancel_plan(s, plan_id, reason_code=CANCEL_REASON, by=actor)
    released = cancellation.release_orders(environment, [plan_id], by=actor)
    return {"plan": plan_id, "reason": CANCEL_REASON, "actions_cancelled": len(cancelled),
            "erp_orders_deleted": len(released.deleted), "failed": len(released.failed)}


def renewal(environment: str, plan_id: int) -> dict[str, Any]:
    """The renewed plan's current term and what was billed for it."""
    with session(environment) as s:
        plan = s.get(SubscriptionPlan, plan_id)
        assert plan is not None
        billed = s.exec(select(SubscriptionAction.id).where(
            col(SubscriptionAction.plan_id) == plan_id,
            col(SubscriptionAction.action_type) == "Generate Sales Order")).all()
        return {"plan": plan_id, "status": plan.status, "term_start": plan.term_start.isoformat()
                if plan.term_start else None, "term_end": plan.global_end.isoformat() if plan.global_end else None,
                "periods_billed": len(billed)}
