"""Subscription actions: the filtered list, edits, and bulk firm, post and cancel."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from hub.web import operations, queries
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import ActionEditIn, ActionIdsIn, Opt

router = APIRouter(tags=["actions"])


@router.get("/actions")
def list_actions(actor: CurrentActor, status: str | None = None, type: str | None = None,
                 start: Annotated[Opt[date], Query(alias="from")] = None,
                 end: Annotated[Opt[date], Query(alias="to")] = None,
                 customer: int | None = None, plan: int | None = None) -> list[Json]:
    f = queries.ActionFilter(status=status, action_type=type, start=start, end=end, customer=customer, plan_id=plan)
    return actor.call(queries.action_rows, f)


@router.patch("/actions/{action_id}", openapi_extra=needs("Subscription Actions", "Edit"))
def edit_action(actor: CurrentActor, action_id: int, body: ActionEditIn) -> Json:
    operations.edit_action(actor, action_id, body)
    return next(r for r in actor.call(queries.action_rows) if r["id"] == action_id)


@router.post("/actions/firm", openapi_extra=needs("Subscription Actions", "Firm"))
def firm_actions(actor: CurrentActor, body: ActionIdsIn) -> Json:
    """Firm actions into ERP sales orders: per action done, failed (with the reason) or skipped."""
    return operations.firm(actor, body.ids)


@router.post("/actions/post", openapi_extra=needs("Subscription Actions", "Post"))
def post_actions(actor: CurrentActor, body: ActionIdsIn) -> Json:
    """Post firmed actions: their sales orders are invoiced in the ERP."""
    return operations.post(actor, body.ids)


@router.post("/actions/cancel", openapi_extra=needs("Subscription Actions", "Cancel"))
def cancel_actions(actor: CurrentActor, body: ActionIdsIn) -> Json:
    return {"cancelled": operations.cancel_actions(actor, body.ids)}


@router.post("/actions/reset", openapi_extra=needs("Subscription Actions", "Reset"))
def reset_actions(actor: CurrentActor, body: ActionIdsIn) -> Json:
    """Reset Failed actions, or ones a crash left in Firming/Posting (administrators)."""
    return {"reset": [{"action": action_id, "status": status}
                      for action_id, status in operations.reset_actions(actor, body.ids)]}
