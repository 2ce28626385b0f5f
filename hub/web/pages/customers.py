"""Pages: customers (with their payment method and standing) and invoices."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.portal import links
from hub.sync import cards as hub_cards
from hub.web import customer_view, directory, form_errors, operations, queries
from hub.web.auth import CurrentActor, needs
from hub.web.render import page, redirect
from hub.web.schemas import Opt, PortalLinkIn

router = APIRouter(default_response_class=HTMLResponse)


@router.get("/customers")
def customers_page(request: Request, actor: CurrentActor, q: Opt[str] = None, system: Opt[str] = None,
                   status: Opt[str] = None, overdue: bool = False, sort: Opt[str] = None,
                   page_no: Annotated[int, Query(alias="page")] = 1) -> Response:
    problems: dict[str, str] = {}
    with actor.session() as s:
        try:
            f = directory.CustomerFilter(q=q, system=system, status=status, overdue=overdue, sort=sort or "name",
                                         page=page_no)
            view = directory.customer_page(s, f, date.today())
        except directory.DirectoryError as exc:  # shown beside the filter it is about
            problems = form_errors.from_message(str(exc), ("q", "system", "status", "sort", "page")) or {"q": str(exc)}
            f = directory.CustomerFilter(q=q)
            view = {"rows": [], "total": 0, "page": 1, "pages": 1, "more": False}
        cards = [c.name for c in hub_cards.all_cards(s)]
    return page(request, actor, "customers.html", status_code=400 if problems else 200, view=view, f=f, cards=cards,
                sorts=directory.SORTS, statuses=directory.STATUSES, form_errors=problems,
                form_values=dict(request.query_params) if problems else {})


@router.get("/customers/{org_id}")
def customer_page(request: Request, actor: CurrentActor, org_id: int) -> Response:
    with actor.session() as s:
        found, more = queries.customer(s, org_id), customer_view.customer_view(s, org_id)
    if found is None:
        return page(request, actor, "error.html", status_code=404, status=404,
                    message=f"no customer {org_id} in {actor.environment}")
    return page(request, actor, "customer.html", c=found, more=more, panel=operations.payment_panel(actor, org_id),
                standing=operations.customer_status(actor, org_id),
                taken_payments=operations.customer_payments(actor, org_id))


@router.get("/invoices")
def invoices_page(request: Request, actor: CurrentActor, connector: str | None = None, q: str | None = None,
                  status: str | None = None, start: Annotated[Opt[date], Query(alias="from")] = None,
                  end: Annotated[Opt[date], Query(alias="to")] = None, currency: str | None = None,
                  unpaid: bool = False) -> Response:
    f = queries.InvoiceFilter(connector=connector or None, q=q or None, status=status or None, start=start, end=end,
                              currency=(currency or "").upper() or None, unpaid=unpaid)
    with actor.session() as s:
        rows = queries.invoice_rows(s, f)
        statuses = queries.invoice_statuses(s)
        cards = [c.name for c in hub_cards.all_cards(s)]
    return page(request, actor, "invoices.html", rows=rows, f=f, statuses=statuses, cards=cards)


@router.post("/customers/{org_id}/portal-link", openapi_extra=needs("Payment Methods", "Update"))
def portal_link(actor: CurrentActor, org_id: int, body: Annotated[PortalLinkIn, Form()]) -> Response:
    link = actor.call(links.issue, org_id, days=body.days, actor=actor.email)
    until = link.expires_at.strftime("%Y-%m-%d %H:%M")
    return redirect(f"/customers/{org_id}#portal", "ok", f"Portal link made, valid until {until} UTC: send it to "
                    "the customer (it opens their invoices without a password).", [link.url])


@router.post("/customers/{org_id}/portal-link/revoke", openapi_extra=needs("Payment Methods", "Update"))
def portal_revoke(actor: CurrentActor, org_id: int) -> Response:
    actor.call(links.revoke, org_id, actor=actor.email)
    return redirect(f"/customers/{org_id}#portal", "ok", "Every portal link handed out so far is withdrawn.")
