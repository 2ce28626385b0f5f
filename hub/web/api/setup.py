"""Billing setup: reason codes, program types, and the HARP Connect run."""

from __future__ import annotations

from fastapi import APIRouter

from hub.web import operations, queries
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import BillingRunIn, ProgramTypeIn, ReasonCodeIn

router = APIRouter(tags=["billing setup"])


@router.get("/reason-codes")
def list_reason_codes(actor: CurrentActor) -> list[Json]:
    return actor.call(queries.reason_codes)


@router.post("/reason-codes", status_code=201, openapi_extra=needs("Reason Code", "Create"))
def create_reason_code(actor: CurrentActor, body: ReasonCodeIn) -> Json:
    operations.create_reason_code(actor, body)
    return body.model_dump()


@router.get("/program-types")
def list_program_types(actor: CurrentActor) -> list[Json]:
    return actor.call(queries.program_types)


@router.post("/program-types", status_code=201, openapi_extra=needs("Program Types", "Create"))
def create_program_type(actor: CurrentActor, body: ProgramTypeIn) -> Json:
    operations.create_program_type(actor, body)
    return body.model_dump()


@router.post("/billing/run", openapi_extra=needs("Run HARP Connect", "Run"))
def run_harp_connect(actor: CurrentActor, body: BillingRunIn) -> Json:
    """HARP Connect: create the actions due up to today (or the test date); a dry run writes nothing."""
    return operations.harp_connect(actor, body.test_date, body.dry_run)
