"""Subscription plans and their lines: create, edit, publish, cancel, credit a line."""

from __future__ import annotations

from fastapi import APIRouter

from hub.billing import plans
from hub.web import operations, queries
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import CreditIn, LineIn, PlanCancelIn, PlanEditIn, PlanIn

router = APIRouter(tags=["plans"])


@router.get("/plans")
def list_plans(actor: CurrentActor, status: str | None = None) -> list[Json]:
    return actor.call(queries.plans, status)


def _plan(actor: CurrentActor, plan_id: int) -> Json:
    with actor.session() as s:
        return {**queries.plan_row(s, plans.get_plan(s, plan_id)), "lines": queries.plan_lines(s, plan_id)}


@router.post("/plans", status_code=201, openapi_extra=needs("Subscription Plan", "Create"))
def create_plan(actor: CurrentActor, body: PlanIn) -> Json:
    return _plan(actor, operations.create_plan(actor, body))


@router.get("/plans/{plan_id}")
def get_plan(actor: CurrentActor, plan_id: int) -> Json:
    return _plan(actor, plan_id)


@router.patch("/plans/{plan_id}", openapi_extra=needs("Subscription Plan", "Update"))
def edit_plan(actor: CurrentActor, plan_id: int, body: PlanEditIn) -> Json:
    operations.edit_plan(actor, plan_id, body)
    return _plan(actor, plan_id)


@router.post("/plans/{plan_id}/publish", openapi_extra=needs("Subscription Plan", "Publish"))
def publish_plan(actor: CurrentActor, plan_id: int) -> Json:
    operations.set_plan_status(actor, plan_id, "Published")
    return _plan(actor, plan_id)


@router.post("/plans/{plan_id}/unpublish", openapi_extra=needs("Subscription Plan", "Unpublish"))
def unpublish_plan(actor: CurrentActor, plan_id: int) -> Json:
    """Back to Draft (administrators), e.g. to issue credit notes for its lines."""
    operations.set_plan_status(actor, plan_id, "Draft")
    return _plan(actor, plan_id)


@router.post("/plans/{plan_id}/cancel", openapi_extra=needs("Subscription Plan", "Cancel"))
def cancel_plan(actor: CurrentActor, plan_id: int, body: PlanCancelIn | None = None) -> Json:
    """Cancel with a Cancel reason code: Not-firmed actions are cancelled, firmed ERP orders deleted."""
    outcome = operations.cancel_plan(actor, plan_id, body or PlanCancelIn())
    return {**_plan(actor, plan_id), "cancellation": outcome}


@router.post("/plans/{plan_id}/lines", status_code=201, openapi_extra=needs("Subscription Plan Lines", "Create"))
def add_line(actor: CurrentActor, plan_id: int, body: LineIn) -> Json:
    line_id = operations.add_line(actor, plan_id, body)
    return next(x for x in _plan(actor, plan_id)["lines"] if x["id"] == line_id)


@router.post("/lines/{line_id}/credit", openapi_extra=needs("Subscription Plan Lines", "Update"))
def credit_line(actor: CurrentActor, line_id: int, body: CreditIn) -> Json:
    """Credit notes for a line's posted periods (its plan must be in Draft)."""
    return {"created": operations.credit_line(actor, line_id, body)}
