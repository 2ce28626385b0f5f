"""Billing setup: reason codes, program types, the churn report and the HARP Connect run."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from hub.billing import reports, setup
from hub.billing.rules.dashboard import filters_for
from hub.web import operations, queries
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import BillingRunIn, Opt, ProgramTypeEditIn, ProgramTypeIn, ReasonCodeEditIn, ReasonCodeIn

router = APIRouter(tags=["billing setup"])


@router.get("/reason-codes")
def list_reason_codes(actor: CurrentActor) -> list[Json]:
    return actor.call(queries.reason_codes)


@router.post("/reason-codes", status_code=201, openapi_extra=needs("Reason Code", "Create"))
def create_reason_code(actor: CurrentActor, body: ReasonCodeIn) -> Json:
    operations.create_reason_code(actor, body)
    return body.model_dump()


@router.patch("/reason-codes/{code}", openapi_extra=needs("Reason Code", "Update"))
def edit_reason_code(actor: CurrentActor, code: str, body: ReasonCodeEditIn) -> Json:
    actor.call(setup.edit_reason_code, code, types=body.types, default_for=body.default_for,
               description=body.description)
    return next(r for r in actor.call(queries.reason_codes) if r["code"] == code)


@router.delete("/reason-codes/{code}", status_code=204, openapi_extra=needs("Reason Code", "Delete"))
def delete_reason_code(actor: CurrentActor, code: str) -> None:
    """Delete a reason code no plan, line or action uses."""
    actor.call(setup.delete_reason_code, code)


@router.get("/program-types")
def list_program_types(actor: CurrentActor) -> list[Json]:
    return actor.call(queries.program_types)


@router.post("/program-types", status_code=201, openapi_extra=needs("Program Types", "Create"))
def create_program_type(actor: CurrentActor, body: ProgramTypeIn) -> Json:
    operations.create_program_type(actor, body)
    return body.model_dump()


@router.patch("/program-types/{name}", openapi_extra=needs("Program Types", "Update"))
def edit_program_type(actor: CurrentActor, name: str, body: ProgramTypeEditIn) -> Json:
    row = actor.call(setup.edit_program_type, name, new_name=body.name, period_type=body.period_type,
                     subscription_type=body.subscription_type)
    return {"name": row.name, "period_type": row.period_type, "subscription_type": row.subscription_type}


@router.delete("/program-types/{name}", status_code=204, openapi_extra=needs("Program Types", "Delete"))
def delete_program_type(actor: CurrentActor, name: str) -> None:
    """Delete a program type no plan uses."""
    actor.call(setup.delete_program_type, name)


@router.get("/reports/churn")
def churn_report(actor: CurrentActor, start: Annotated[Opt[date], Query(alias="from")] = None,
                 end: Annotated[Opt[date], Query(alias="to")] = None, granularity: str = "month") -> list[Json]:
    """Churn: plans cancelled and their customers, per period and Cancel reason code."""
    f = filters_for(start, end, granularity, today=date.today())
    return [{"period": r.period, "from": r.first.isoformat(), "to": r.last.isoformat(), "reason_code": r.reason_code,
             "plans": r.plans, "customers": r.customers} for r in actor.call(reports.churn, f)]


@router.post("/billing/run", openapi_extra=needs("Run HARP Connect", "Run"))
def run_harp_connect(actor: CurrentActor, body: BillingRunIn) -> Json:
    """HARP Connect: create the actions due up to today (or the test date); a dry run writes nothing."""
    return operations.harp_connect(actor, body.test_date, body.dry_run)
