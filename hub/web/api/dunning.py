"""Dunning's stop rules: holds on a customer's invoices (disputed, promise to pay)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hub.collections import dunning_holds
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import Opt

router = APIRouter(tags=["collections"])


class DunningHoldIn(BaseModel):
    reason: Literal["disputed", "promise_to_pay"] = Field(
        description="disputed: until released; promise_to_pay: until the promised date has passed")
    until: Opt[date] = Field(default=None, description="the date promised (required for promise_to_pay)")
    invoice: Opt[str] = Field(default=None, max_length=64, description="one invoice's number (default: all)")
    note: Opt[str] = Field(default=None, max_length=500)


@router.get("/customers/{org_id}/dunning-holds")
def get_dunning_holds(actor: CurrentActor, org_id: int, current: bool = False) -> list[Json]:
    """The customer's dunning holds, newest first (``current``: only those that apply today)."""
    return actor.call(dunning_holds.list_holds, org_id, current=current)


@router.post("/customers/{org_id}/dunning-holds", status_code=201, openapi_extra=needs("Collections", "Hold"))
def create_dunning_hold(actor: CurrentActor, org_id: int, body: DunningHoldIn) -> Json:
    """Stop overdue notices and penalties for the customer (or one invoice) while the hold applies."""
    return actor.call(dunning_holds.hold, org_id, body.reason, until=body.until, invoice_number=body.invoice,
                      note=body.note)


@router.post("/dunning-holds/{hold_id}/release", openapi_extra=needs("Collections", "Hold"))
def release_dunning_hold(actor: CurrentActor, hold_id: int) -> Json:
    """End a hold now: dunning resumes at the level the invoices have reached."""
    return actor.call(dunning_holds.release, hold_id)
