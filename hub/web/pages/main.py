"""Pages: dashboard, customers, invoices, users and the signed-in user's account (API tokens)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import SecretStr

from hub.access import users
from hub.billing.rules import dashboard
from hub.platform import audit
from hub.sync import cards as hub_cards
from hub.web import charts, operations, queries
from hub.web.auth import CurrentActor, needs
from hub.web.render import page, redirect
from hub.web.schemas import Opt, TokenIn, UserIn

router = APIRouter(default_response_class=HTMLResponse)


def dashboard_filters(start: date | None, end: date | None, currency: str | None, granularity: str) -> dashboard.Filters:
    """The dashboard's filters; by default the last twelve months up to today."""
    end = end or date.today()
    start = start or (end.replace(day=1) - timedelta(days=335)).replace(day=1)
    try:
        grain = dashboard.Granularity(granularity)
    except ValueError:
        raise dashboard.DashboardError("granularity must be month, quarter or year") from None
    return dashboard.Filters(start, end, (currency or "").strip().upper() or None, grain)


@router.get("/")
def dashboard_page(request: Request, actor: CurrentActor,
                   start: Annotated[Opt[date], Query(alias="from")] = None,
                   end: Annotated[Opt[date], Query(alias="to")] = None,
                   currency: str | None = None, granularity: str = "month") -> Response:
    f = dashboard_filters(start, end, currency, granularity)
    cards, series = operations.dashboard_view(actor, f)
    labels = [p.label for p in series.periods]
    drawn = [
        charts.bar_chart("Total revenue per currency", labels, series.revenue or {"revenue": [0] * len(labels)}),
        charts.bar_chart("Total active customers", labels, {"active customers": series.active_customers}),
        charts.bar_chart("Churn (customers who cancelled a plan)", labels, {"churned": series.churn}),
        charts.bar_chart("Total actions", labels, series.actions),
    ]
    with actor.session() as s:
        currencies = queries.currencies(s)
    return page(request, actor, "dashboard.html", filters=f, cards=cards, charts=drawn, currencies=currencies)


@router.get("/customers")
def customers_page(request: Request, actor: CurrentActor, connector: str | None = None, q: str | None = None) -> Response:
    with actor.session() as s:
        rows = queries.customers(s, connector=connector or None, q=q or None)
        cards = [c.name for c in hub_cards.all_cards(s)]
    return page(request, actor, "customers.html", rows=rows, cards=cards, connector=connector or "", q=q or "")


@router.get("/customers/{org_id}")
def customer_page(request: Request, actor: CurrentActor, org_id: int) -> Response:
    with actor.session() as s:
        found = queries.customer(s, org_id)
    if found is None:
        return page(request, actor, "error.html", status_code=404, status=404,
                    message=f"no customer {org_id} in {actor.environment}")
    return page(request, actor, "customer.html", c=found, panel=operations.payment_panel(actor, org_id),
                standing=operations.customer_status(actor, org_id))


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


# --- users (Administrators) ---------------------------------------------------------------------


@router.get("/users", openapi_extra=needs("Users", "Update"))
def users_page(request: Request, actor: CurrentActor) -> Response:
    with actor.session() as s:
        rows = users.list_users(s)
    return page(request, actor, "users.html", rows=rows)


@router.post("/users", openapi_extra=needs("Users", "Create"))
def users_add(actor: CurrentActor, body: Annotated[UserIn, Form()]) -> Response:
    with actor.session() as s:
        user = users.create_user(s, body.email, body.password.get_secret_value(), role=body.role, name=body.name)
        shown = f"{user.email} ({user.role})"
    return redirect("/users", "ok", f"User {shown} added.")


@router.post("/users/{email}/role", openapi_extra=needs("Users", "Update Roles"))
def users_role(actor: CurrentActor, email: str, role: Annotated[str, Form()]) -> Response:
    with actor.session() as s:
        users.set_role(s, email, role)
    return redirect("/users", "ok", f"{email} is now {role}.")


@router.post("/users/{email}/activate", openapi_extra=needs("Users", "Activate"))
def users_activate(actor: CurrentActor, email: str) -> Response:
    with actor.session() as s:
        users.set_active(s, email, True)
    return redirect("/users", "ok", f"{email} can sign in again.")


@router.post("/users/{email}/deactivate", openapi_extra=needs("Users", "Deactivate"))
def users_deactivate(actor: CurrentActor, email: str) -> Response:
    with actor.session() as s:
        users.set_active(s, email, False)
    return redirect("/users", "ok", f"{email} is deactivated and signed out.")


@router.post("/users/{email}/delete", openapi_extra=needs("Users", "Delete"))
def users_delete(actor: CurrentActor, email: str) -> Response:
    with actor.session() as s:
        users.delete_user(s, email)
    return redirect("/users", "ok", f"User {email} deleted.")


# --- my account: API tokens ---------------------------------------------------------------------


def _account(request: Request, actor: CurrentActor, new_token: SecretStr | None = None) -> Response:
    with actor.session() as s:
        tokens = users.tokens_of(s, actor.user_id)
    return page(request, actor, "account.html", tokens=tokens,
                new_token=new_token.get_secret_value() if new_token else None)


@router.get("/account")
def account_page(request: Request, actor: CurrentActor) -> Response:
    return _account(request, actor)


@router.post("/account/tokens")
def token_create(request: Request, actor: CurrentActor, body: Annotated[TokenIn, Form()]) -> Response:
    with actor.session() as s:
        _, plain = users.create_token(s, actor.user_id, body.name)
    # shown once, in this response only: it is never stored nor put in a cookie
    return _account(request, actor, SecretStr(plain))


@router.post("/account/tokens/{token_id}/revoke")
def token_revoke(actor: CurrentActor, token_id: int) -> Response:
    with actor.session() as s:
        users.revoke_token(s, actor.user_id, token_id)
    return redirect("/account", "ok", "API token revoked.")


@router.get("/audit", openapi_extra=needs("Audit Log", "View"))
def audit_page(request: Request, actor: CurrentActor, entity: Opt[str] = None, since: Opt[datetime] = None) -> Response:
    """Who changed what: the newest 200 entries, filtered by entity and time."""
    with actor.session() as s:
        rows = [audit.as_dict(e) for e in audit.entries(s, entity=entity, since=since)]
    return page(request, actor, "audit.html", rows=rows, entity=entity or "", since=since.isoformat() if since else "")
