"""Pages: subscription plans and lines, actions (filters, bulk firm/post/cancel), billing setup and HARP Connect."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hub.billing import plans
from hub.billing.rules.domain import ActionStatus, ActionType, BillingPeriodType, ReasonType
from hub.platform.models import PlanLine
from hub.web import operations, paging, pickers, queries
from hub.web.auth import CurrentActor, needs
from hub.web.render import back, page, redirect
from hub.web.schemas import (
    ActionEditIn,
    ActionIdsIn,
    BillingRunIn,
    CreditIn,
    LineIn,
    Opt,
    PlanCancelIn,
    PlanEditIn,
    PlanIn,
    ProgramTypeIn,
    ReasonCodeIn,
)

router = APIRouter(default_response_class=HTMLResponse)


def _plan_choices(actor: CurrentActor) -> dict[str, Any]:
    with actor.session() as s:
        erps = queries.erp_cards(s)
        return {"erps": [c.name for c in erps], "customers": pickers.erp_customers(s, erps),
                "program_types": queries.program_types(s), "reason_codes": queries.reason_codes(s),
                "periods": [p.value for p in BillingPeriodType]}


@router.get("/plans")
def plans_page(request: Request, actor: CurrentActor, status: str | None = None) -> Response:
    rows = actor.call(queries.plans, status or None)
    return page(request, actor, "plans.html", rows=rows, status=status or "", choices=_plan_choices(actor))


@router.post("/plans", openapi_extra=needs("Subscription Plan", "Create"))
def plan_create(actor: CurrentActor, body: Annotated[PlanIn, Form()]) -> Response:
    """The form's customer is the picker's label (name and number), resolved here to the ERP id."""
    with actor.session() as s:
        customer = pickers.customer_for_label(s, body.connector, body.customer)
    plan_id = operations.create_plan(actor, body.model_copy(update={"customer": customer}))
    return redirect(f"/plans/{plan_id}", "ok", f"Plan {plan_id} created in Draft: add its lines, then publish it.")


@router.get("/plans/{plan_id}")
def plan_page(request: Request, actor: CurrentActor, plan_id: int) -> Response:
    with actor.session() as s:
        plan = queries.plan_row(s, plans.get_plan(s, plan_id))
        lines = queries.plan_lines(s, plan_id)
        actions = queries.action_rows(s, queries.ActionFilter(plan_id=plan_id))
        reason_codes = queries.reason_codes(s)
        items = pickers.erp_items(s, plans.get_plan(s, plan_id).connector_id) if plan["status"] == "Draft" else []
    return page(request, actor, "plan.html", plan=plan, lines=lines, actions=actions, reason_codes=reason_codes,
                items=items)


@router.post("/plans/{plan_id}", openapi_extra=needs("Subscription Plan", "Update"))
def plan_edit(actor: CurrentActor, plan_id: int, body: Annotated[PlanEditIn, Form()]) -> Response:
    operations.edit_plan(actor, plan_id, body)
    return redirect(f"/plans/{plan_id}", "ok", f"Plan {plan_id} saved.")


@router.post("/plans/{plan_id}/publish", openapi_extra=needs("Subscription Plan", "Publish"))
def plan_publish(actor: CurrentActor, plan_id: int) -> Response:
    operations.set_plan_status(actor, plan_id, "Published")
    return redirect(f"/plans/{plan_id}", "ok", f"Plan {plan_id} published: HARP Connect creates its actions.")


@router.post("/plans/{plan_id}/unpublish", openapi_extra=needs("Subscription Plan", "Unpublish"))
def plan_unpublish(actor: CurrentActor, plan_id: int) -> Response:
    operations.set_plan_status(actor, plan_id, "Draft")
    return redirect(f"/plans/{plan_id}", "ok", f"Plan {plan_id} is in Draft: edit it, or credit its lines' posted periods.")


@router.post("/plans/{plan_id}/cancel", openapi_extra=needs("Subscription Plan", "Cancel"))
def plan_cancel(actor: CurrentActor, plan_id: int, body: Annotated[PlanCancelIn, Form()]) -> Response:
    outcome = operations.cancel_plan(actor, plan_id, body)
    failed = f"; {len(outcome['failed'])} ERP orders could not be deleted yet" if outcome["failed"] else ""
    return redirect(f"/plans/{plan_id}", "ok", f"Plan {plan_id} cancelled: {len(outcome['cancelled_actions'])} "
                    f"actions cancelled, {len(outcome['deleted'])} ERP orders deleted{failed}.")


@router.post("/plans/{plan_id}/lines", openapi_extra=needs("Subscription Plan Lines", "Create"))
def line_add(actor: CurrentActor, plan_id: int, body: Annotated[LineIn, Form()]) -> Response:
    """The form's product is the item picker's label (number and description), resolved here to the item number."""
    with actor.session() as s:
        product = pickers.item_for_label(s, plans.get_plan(s, plan_id).connector_id, body.product)
    line_id = operations.add_line(actor, plan_id, body.model_copy(update={"product": product}))
    return redirect(f"/plans/{plan_id}", "ok", f"Line {line_id} added.")


@router.get("/plans/{plan_id}/lines/preview")
def line_preview(actor: CurrentActor, plan_id: int, quantity: str = "", sales_price: str = "", discount_amount: str = "",
                 discount_percent: str = "", currency: str = "") -> Response:
    """The add-line form's amount preview (JSON ``{"text": ...}``), computed as firming computes it."""
    with actor.session() as s:
        plans.get_plan(s, plan_id)
    return JSONResponse({"text": operations.line_preview(quantity, sales_price, discount_amount, discount_percent,
                                                         currency)})


@router.post("/lines/{line_id}/credit", openapi_extra=needs("Subscription Plan Lines", "Update"))
def line_credit(request: Request, actor: CurrentActor, line_id: int, body: Annotated[CreditIn, Form()]) -> Response:
    made = operations.credit_line(actor, line_id, body)
    with actor.session() as s:  # the line's plan (the browser sends no referer to go back to)
        line = s.get(PlanLine, line_id)
    return redirect(f"/plans/{line.plan_id}" if line else back(request, "/plans"), "ok",
                    f"{made} credit-note actions created.")


# --- actions --------------------------------------------------------------------------------------


@router.get("/actions")
def actions_page(request: Request, actor: CurrentActor, status: str | None = None, type: str | None = None,
                 start: Annotated[Opt[date], Query(alias="from")] = None,
                 end: Annotated[Opt[date], Query(alias="to")] = None,
                 customer: Annotated[Opt[int], Query()] = None,
                 page_no: Annotated[int, Query(alias="page")] = 1) -> Response:
    f = queries.ActionFilter(status=status or None, action_type=type or None, start=start, end=end, customer=customer)
    with actor.session() as s:
        view = paging.counted(queries.action_rows(s, f, paging.PAGE_SIZE, paging.offset(page_no)),
                              queries.action_rows(s, f, count=True), page_no)
        customers = queries.plan_customers(s)
    return page(request, actor, "actions.html", rows=view["rows"], view=view, f=f, customers=customers,
                statuses=[x.value for x in ActionStatus], types=[x.value for x in ActionType])


def _run_report(verb: str, report: dict[str, Any]) -> Response:
    items = [f"action {r['action']}: {r['error']}" for r in report["failed"]]
    items += [f"action {a}: not due for this step (skipped)" for a in report["skipped"]]
    kind = "error" if report["failed"] else "ok"
    return redirect("/actions", kind, f"{verb} {len(report['done'])}; failed {len(report['failed'])}; "
                                      f"skipped {len(report['skipped'])}.", items)


@router.post("/actions/firm", openapi_extra=needs("Subscription Actions", "Firm"))
def actions_firm(actor: CurrentActor, body: Annotated[ActionIdsIn, Form()]) -> Response:
    return _run_report("Firmed", operations.firm(actor, body.ids))


@router.post("/actions/post", openapi_extra=needs("Subscription Actions", "Post"))
def actions_post(actor: CurrentActor, body: Annotated[ActionIdsIn, Form()]) -> Response:
    return _run_report("Posted", operations.post(actor, body.ids))


@router.post("/actions/cancel", openapi_extra=needs("Subscription Actions", "Cancel"))
def actions_cancel(actor: CurrentActor, body: Annotated[ActionIdsIn, Form()]) -> Response:
    count = operations.cancel_actions(actor, body.ids)
    return redirect("/actions", "ok", f"Cancelled {count} actions.")


@router.post("/actions/{action_id}", openapi_extra=needs("Subscription Actions", "Edit"))
def action_edit(request: Request, actor: CurrentActor, action_id: int, body: Annotated[ActionEditIn, Form()]) -> Response:
    operations.edit_action(actor, action_id, body)
    return redirect(back(request, "/actions"), "ok", f"Action {action_id} saved.")


# --- billing setup and HARP Connect ----------------------------------------------------------------


def _billing_page(request: Request, actor: CurrentActor, result: dict[str, Any] | None = None) -> Response:
    with actor.session() as s:
        reasons, programs = queries.reason_codes(s), queries.program_types(s)
    return page(request, actor, "billing.html", reason_codes=reasons, program_types=programs,
                reason_types=[t.value for t in ReasonType], result=result)


@router.get("/billing")
def billing_page(request: Request, actor: CurrentActor) -> Response:
    return _billing_page(request, actor)


@router.post("/billing/reason-codes", openapi_extra=needs("Reason Code", "Create"))
def reason_code_add(actor: CurrentActor, body: Annotated[ReasonCodeIn, Form()]) -> Response:
    operations.create_reason_code(actor, body)
    return redirect("/billing", "ok", f"Reason code {body.code} added.")


@router.post("/billing/program-types", openapi_extra=needs("Program Types", "Create"))
def program_type_add(actor: CurrentActor, body: Annotated[ProgramTypeIn, Form()]) -> Response:
    operations.create_program_type(actor, body)
    return redirect("/billing", "ok", f"Program type {body.name} added.")


@router.post("/billing/run", openapi_extra=needs("Run HARP Connect", "Run"))
def billing_run(request: Request, actor: CurrentActor, body: Annotated[BillingRunIn, Form()]) -> Response:
    return _billing_page(request, actor, operations.harp_connect(actor, body.test_date, body.dry_run))
