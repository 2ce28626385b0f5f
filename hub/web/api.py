"""The JSON API under ``/api``: everything the pages do, for scripts (bearer tokens) and the pages' polling."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hub.access import users
from hub.billing import plans, setup
from hub.billing.rules import errors
from hub.collections.notifications import list_notifications
from hub.collections.rules import NotificationType
from hub.platform import audit
from hub.sync import cards
from hub.web import operations, queries
from hub.web.auth import CurrentActor, needs
from hub.web.pages.main import dashboard_filters
from hub.web.schemas import (
    ActionEditIn,
    ActionIdsIn,
    BillingRunIn,
    CardFormIn,
    CardIn,
    CardSettingsIn,
    CollectionSettingsIn,
    CreditIn,
    DunningSettingsIn,
    FooterNoteIn,
    InvoiceIdsIn,
    LineIn,
    NotificationSharedIn,
    NotificationTypeIn,
    Opt,
    PaymentMethodIn,
    PlanEditIn,
    PlanIn,
    ProgramTypeIn,
    ReasonCodeIn,
    SyncIn,
    TokenIn,
    UserEditIn,
    UserIn,
)

router = APIRouter()
Json = dict[str, Any]
NO_CONTENT = 204


@router.get("/me", tags=["users"])
def me(actor: CurrentActor) -> Json:
    """Who the caller is, their role and environment."""
    return {"email": actor.email, "role": actor.role, "environment": actor.environment}


# --- connector cards ------------------------------------------------------------------------


@router.get("/connectors", tags=["connectors"])
def list_cards(actor: CurrentActor) -> list[Json]:
    with actor.session() as s:
        return [queries.card_view(s, card) for card in cards.all_cards(s)]


@router.post("/connectors", tags=["connectors"], status_code=201, openapi_extra=needs("Connectors", "Create"))
def create_card(actor: CurrentActor, body: CardIn) -> Json:
    name = operations.create_card(actor, body)
    with actor.session() as s:
        return queries.card_view(s, cards.get(s, name))


@router.get("/connectors/{name}", tags=["connectors"])
def get_card(actor: CurrentActor, name: str) -> Json:
    with actor.session() as s:
        return queries.card_view(s, cards.get(s, name))


@router.patch("/connectors/{name}", tags=["connectors"], openapi_extra=needs("Connectors", "Update"))
def update_card(actor: CurrentActor, name: str, body: CardSettingsIn) -> Json:
    """Change settings or secrets: only while the card is not active."""
    operations.update_card(actor, name, body)
    return get_card(actor, name)


@router.delete("/connectors/{name}", tags=["connectors"], status_code=NO_CONTENT,
               openapi_extra=needs("Connectors", "Delete"))
def delete_card(actor: CurrentActor, name: str) -> Response:
    with actor.session() as s:
        cards.delete(s, name)
    return Response(status_code=NO_CONTENT)


@router.post("/connectors/{name}/test", tags=["connectors"], openapi_extra=needs("Connectors", "Update"))
def test_card(actor: CurrentActor, name: str) -> Json:
    """Test Connection: every probe and the permissions found missing."""
    return operations.report_view(operations.test_connection(actor, name))


@router.post("/connectors/{name}/activate", tags=["connectors"], openapi_extra=needs("Connectors", "Activate"))
def activate_card(actor: CurrentActor, name: str) -> Json:
    status, reason, report = operations.activate(actor, name)
    return {"status": status, "reason": reason, "test": operations.report_view(report)}


@router.post("/connectors/{name}/deactivate", tags=["connectors"], openapi_extra=needs("Connectors", "Deactivate"))
def deactivate_card(actor: CurrentActor, name: str) -> Json:
    with actor.session() as s:
        cards.set_status(s, name, "deactivated")
    return get_card(actor, name)


@router.post("/connectors/{name}/sync", tags=["connectors"], status_code=202)
def start_sync(request: Request, actor: CurrentActor, name: str, body: SyncIn | None = None) -> Json:
    """Sync Now: starts the sync flow; poll ``GET /api/connectors/{name}/sync`` for progress and counts."""
    request.app.state.sync_jobs.start(actor, name, full=bool(body and body.full))
    return request.app.state.sync_jobs.status(actor, name)  # type: ignore[no-any-return]


@router.get("/connectors/{name}/sync", tags=["connectors"])
def sync_status(request: Request, actor: CurrentActor, name: str) -> Json:
    return request.app.state.sync_jobs.status(actor, name)  # type: ignore[no-any-return]


# --- customers and invoices -------------------------------------------------------------------


@router.get("/customers", tags=["customers"])
def list_customers(actor: CurrentActor, connector: str | None = None, q: str | None = None) -> list[Json]:
    with actor.session() as s:
        return queries.customers(s, connector=connector, q=q)


@router.get("/customers/{org_id}", tags=["customers"])
def get_customer(actor: CurrentActor, org_id: int) -> Json:
    with actor.session() as s:
        found = queries.customer(s, org_id)
    if found is None:
        raise errors.SubscriptionError(f"no customer {org_id} in {actor.environment}")
    return found


@router.get("/invoices", tags=["invoices"])
def list_invoices(actor: CurrentActor, connector: str | None = None, q: str | None = None, status: str | None = None,
                  start: Annotated[Opt[date], Query(alias="from")] = None,
                  end: Annotated[Opt[date], Query(alias="to")] = None,
                  currency: str | None = None, unpaid: bool = False) -> list[Json]:
    f = queries.InvoiceFilter(connector=connector, q=q, status=status, start=start, end=end,
                              currency=currency.upper() if currency else None, unpaid=unpaid)
    with actor.session() as s:
        return queries.invoice_rows(s, f)


# --- collections: payment methods, status, unpaid invoices and bulk Pay ------------------------


@router.get("/customers/{org_id}/payment-method", tags=["collections"])
def get_payment_method(actor: CurrentActor, org_id: int) -> Json:
    """The customer's Payment method panel: the active method (or null) and the card forms still open."""
    return operations.payment_panel(actor, org_id)


@router.post("/customers/{org_id}/card-requests", tags=["collections"], status_code=201,
             openapi_extra=needs("Payment Methods", "Create"))
def send_card_form(actor: CurrentActor, org_id: int, body: CardFormIn) -> Json:
    """Send card form: the gateway's card-entry page for the contact (``url``); then check the request."""
    return operations.send_card_form(actor, org_id, body.contact_id)


@router.post("/card-requests/{request_id}/check", tags=["collections"],
             openapi_extra=needs("Payment Methods", "Create"))
def check_card_request(actor: CurrentActor, request_id: int) -> Json:
    """Vault the card the contact entered: it becomes the payment method (400 while no card was entered)."""
    return operations.check_card_request(actor, request_id)


@router.put("/customers/{org_id}/payment-method", tags=["collections"],
            openapi_extra=needs("Payment Methods", "Create"))
def set_payment_method(actor: CurrentActor, org_id: int, body: PaymentMethodIn) -> Json:
    """Make a direct-debit mandate, or none, the customer's payment method."""
    operations.set_payment_method(actor, org_id, body)
    return operations.payment_panel(actor, org_id)


@router.patch("/customers/{org_id}/payment-method", tags=["collections"],
              openapi_extra=needs("Payment Methods", "Update"))
def set_footer_note(actor: CurrentActor, org_id: int, body: FooterNoteIn) -> Json:
    operations.set_footer_note(actor, org_id, body.footer_note)
    return operations.payment_panel(actor, org_id)


@router.delete("/customers/{org_id}/payment-method", tags=["collections"], status_code=NO_CONTENT,
               openapi_extra=needs("Payment Methods", "Remove"))
def remove_payment_method(actor: CurrentActor, org_id: int) -> Response:
    operations.remove_payment_method(actor, org_id)
    return Response(status_code=NO_CONTENT)


@router.get("/customers/{org_id}/status", tags=["collections"])
def get_customer_status(actor: CurrentActor, org_id: int) -> Json:
    """The customer's standing ("Current", "Overdue 2") and its unpaid invoices' levels."""
    return operations.customer_status(actor, org_id)


@router.get("/invoices/unpaid", tags=["collections"])
def list_unpaid(actor: CurrentActor, payment_method: Opt[str] = None) -> list[Json]:
    """Unpaid invoices, oldest due first; ``payment_method``: card, direct_debit or none."""
    return operations.unpaid(actor, payment_method)


@router.post("/invoices/pay", tags=["collections"], openapi_extra=needs("Collections", "Pay"))
def pay_invoices(actor: CurrentActor, body: InvoiceIdsIn) -> list[Json]:
    """Bulk Pay: charge each invoice now; one result per invoice (approved, declined, skipped, unknown)."""
    return operations.pay(actor, body.ids)


# --- notifications and collection settings ----------------------------------------------------


@router.get("/notifications", tags=["notifications"])
def notifications_log(actor: CurrentActor, status: Opt[str] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[Json]:
    """Recent notifications (newest first) with each channel's delivery status."""
    with actor.session() as s:
        return list_notifications(s, status, limit)


@router.get("/notifications/settings", tags=["notifications"])
def get_notification_settings(actor: CurrentActor) -> Json:
    return operations.notification_settings(actor)


@router.patch("/notifications/settings", tags=["notifications"],
              openapi_extra=needs("Notification Settings", "Update"))
def update_shared_notification_settings(actor: CurrentActor, body: NotificationSharedIn) -> Json:
    """The shared ticket configuration and the e-mails' sender name (fields left out are kept)."""
    operations.update_notifications(actor, None, body)
    return operations.notification_settings(actor)


@router.patch("/notifications/settings/{type}", tags=["notifications"],
              openapi_extra=needs("Notification Settings", "Update"))
def update_notification_type(actor: CurrentActor, type: NotificationType, body: NotificationTypeIn) -> Json:
    """One type's e-mail and ticket switches and ticket routing (fields left out are kept)."""
    operations.update_notifications(actor, type.value, body)
    return operations.notification_settings(actor)


@router.get("/settings/collections", tags=["settings"])
def get_collection_settings(actor: CurrentActor) -> Json:
    return operations.collection_settings(actor)


@router.put("/settings/collections", tags=["settings"], openapi_extra=needs("Collection Settings", "Update"))
def put_collection_settings(actor: CurrentActor, body: CollectionSettingsIn) -> Json:
    """Charge timing, the retry policy and since when invoices are charged (all fields are written)."""
    return operations.put_collection_settings(actor, body)


@router.get("/settings/dunning", tags=["settings"])
def get_dunning_settings(actor: CurrentActor) -> Json:
    return operations.dunning_settings(actor)


@router.patch("/settings/dunning", tags=["settings"], openapi_extra=needs("Collection Settings", "Update"))
def update_dunning_settings(actor: CurrentActor, body: DunningSettingsIn) -> Json:
    """Overdue levels, the penalty and the card-expiry warning (fields left out are kept)."""
    return operations.update_dunning(actor, body)


# --- billing setup ------------------------------------------------------------------------------


@router.get("/reason-codes", tags=["billing setup"])
def list_reason_codes(actor: CurrentActor) -> list[Json]:
    with actor.session() as s:
        return queries.reason_codes(s)


@router.post("/reason-codes", tags=["billing setup"], status_code=201, openapi_extra=needs("Reason Code", "Create"))
def create_reason_code(actor: CurrentActor, body: ReasonCodeIn) -> Json:
    with actor.session() as s:
        setup.create_reason_code(s, body.code, body.types, default_for=body.default_for,
                                         description=body.description)
    return body.model_dump()


@router.get("/program-types", tags=["billing setup"])
def list_program_types(actor: CurrentActor) -> list[Json]:
    with actor.session() as s:
        return queries.program_types(s)


@router.post("/program-types", tags=["billing setup"], status_code=201, openapi_extra=needs("Program Types", "Create"))
def create_program_type(actor: CurrentActor, body: ProgramTypeIn) -> Json:
    with actor.session() as s:
        setup.create_program_type(s, body.name, body.period_type, body.subscription_type)
    return body.model_dump()


@router.post("/billing/run", tags=["billing setup"], openapi_extra=needs("Run HARP Connect", "Run"))
def run_harp_connect(actor: CurrentActor, body: BillingRunIn) -> Json:
    """HARP Connect: create the actions due up to today (or the test date); a dry run writes nothing."""
    return operations.harp_connect(actor, body.test_date, body.dry_run)


# --- plans and lines ------------------------------------------------------------------------------


@router.get("/plans", tags=["plans"])
def list_plans(actor: CurrentActor, status: str | None = None) -> list[Json]:
    with actor.session() as s:
        return queries.plans(s, status)


def _plan(actor: CurrentActor, plan_id: int) -> Json:
    with actor.session() as s:
        return {**queries.plan_row(s, plans.get_plan(s, plan_id)), "lines": queries.plan_lines(s, plan_id)}


@router.post("/plans", tags=["plans"], status_code=201, openapi_extra=needs("Subscription Plan", "Create"))
def create_plan(actor: CurrentActor, body: PlanIn) -> Json:
    return _plan(actor, operations.create_plan(actor, body))


@router.get("/plans/{plan_id}", tags=["plans"])
def get_plan(actor: CurrentActor, plan_id: int) -> Json:
    return _plan(actor, plan_id)


@router.patch("/plans/{plan_id}", tags=["plans"], openapi_extra=needs("Subscription Plan", "Update"))
def edit_plan(actor: CurrentActor, plan_id: int, body: PlanEditIn) -> Json:
    operations.edit_plan(actor, plan_id, body)
    return _plan(actor, plan_id)


@router.post("/plans/{plan_id}/publish", tags=["plans"], openapi_extra=needs("Subscription Plan", "Publish"))
def publish_plan(actor: CurrentActor, plan_id: int) -> Json:
    operations.set_plan_status(actor, plan_id, "Published")
    return _plan(actor, plan_id)


@router.post("/plans/{plan_id}/cancel", tags=["plans"], openapi_extra=needs("Subscription Plan", "Cancel"))
def cancel_plan(actor: CurrentActor, plan_id: int) -> Json:
    operations.set_plan_status(actor, plan_id, "Cancelled")
    return _plan(actor, plan_id)


@router.post("/plans/{plan_id}/lines", tags=["plans"], status_code=201,
             openapi_extra=needs("Subscription Plan Lines", "Create"))
def add_line(actor: CurrentActor, plan_id: int, body: LineIn) -> Json:
    line_id = operations.add_line(actor, plan_id, body)
    return next(x for x in _plan(actor, plan_id)["lines"] if x["id"] == line_id)


@router.post("/lines/{line_id}/credit", tags=["plans"], openapi_extra=needs("Subscription Plan Lines", "Update"))
def credit_line(actor: CurrentActor, line_id: int, body: CreditIn) -> Json:
    """Credit notes for a line's posted periods (its plan must be in Draft)."""
    return {"created": operations.credit_line(actor, line_id, body)}


# --- actions ----------------------------------------------------------------------------------


@router.get("/actions", tags=["actions"])
def list_actions(actor: CurrentActor, status: str | None = None, type: str | None = None,
                 start: Annotated[Opt[date], Query(alias="from")] = None,
                 end: Annotated[Opt[date], Query(alias="to")] = None,
                 customer: int | None = None, plan: int | None = None) -> list[Json]:
    f = queries.ActionFilter(status=status, action_type=type, start=start, end=end, customer=customer, plan_id=plan)
    with actor.session() as s:
        return queries.action_rows(s, f)


@router.patch("/actions/{action_id}", tags=["actions"], openapi_extra=needs("Subscription Actions", "Edit"))
def edit_action(actor: CurrentActor, action_id: int, body: ActionEditIn) -> Json:
    operations.edit_action(actor, action_id, body)
    with actor.session() as s:
        return next(r for r in queries.action_rows(s) if r["id"] == action_id)


@router.post("/actions/firm", tags=["actions"], openapi_extra=needs("Subscription Actions", "Firm"))
def firm_actions(actor: CurrentActor, body: ActionIdsIn) -> Json:
    """Firm actions into ERP sales orders: per action done, failed (with the reason) or skipped."""
    return operations.firm(actor, body.ids)


@router.post("/actions/post", tags=["actions"], openapi_extra=needs("Subscription Actions", "Post"))
def post_actions(actor: CurrentActor, body: ActionIdsIn) -> Json:
    """Post firmed actions: their sales orders are invoiced in the ERP."""
    return operations.post(actor, body.ids)


@router.post("/actions/cancel", tags=["actions"], openapi_extra=needs("Subscription Actions", "Cancel"))
def cancel_actions(actor: CurrentActor, body: ActionIdsIn) -> Json:
    return {"cancelled": operations.cancel_actions(actor, body.ids)}


# --- dashboard ----------------------------------------------------------------------------------


@router.get("/dashboard", tags=["dashboard"])
def get_dashboard(actor: CurrentActor, start: Annotated[Opt[date], Query(alias="from")] = None,
                  end: Annotated[Opt[date], Query(alias="to")] = None, currency: str | None = None,
                  granularity: str = "month") -> Json:
    """Seed 003's cards and the series of its charts (amounts as decimal strings)."""
    f = dashboard_filters(start, end, currency, granularity)
    cards_, series = operations.dashboard_view(actor, f)
    return {
        "filters": {"from": f.start.isoformat(), "to": f.end.isoformat(), "currency": f.currency,
                    "granularity": f.granularity.value},
        "cards": {"total_customers": cards_.total_customers, "churn": cards_.churn,
                  "revenue": {k: str(v) for k, v in cards_.revenue.items()},
                  "actions_created": cards_.actions_created, "actions_firmed": cards_.actions_firmed,
                  "actions_posted": cards_.actions_posted},
        "series": {"periods": [p.label for p in series.periods],
                   "revenue": {k: [str(v) for v in vals] for k, vals in series.revenue.items()},
                   "active_customers": series.active_customers, "churn": series.churn, "actions": series.actions},
    }


# --- users and API tokens ----------------------------------------------------------------------


def _user(u: Any) -> Json:
    return {"email": u.email, "name": u.name, "role": u.role, "active": u.is_active, "created": u.created_at.isoformat()}


@router.get("/users", tags=["users"], openapi_extra=needs("Users", "Update"))
def list_users(actor: CurrentActor) -> list[Json]:
    with actor.session() as s:
        return [_user(u) for u in users.list_users(s)]


@router.post("/users", tags=["users"], status_code=201, openapi_extra=needs("Users", "Create"))
def create_user(actor: CurrentActor, body: UserIn) -> Json:
    with actor.session() as s:
        return _user(users.create_user(s, body.email, body.password.get_secret_value(), role=body.role, name=body.name))


@router.patch("/users/{email}", tags=["users"], openapi_extra=needs("Users", "Update"))
def edit_user(actor: CurrentActor, email: str, body: UserEditIn) -> Json:
    """Change a user's role, activate or deactivate them, or set a new password."""
    with actor.session() as s:
        if body.role is not None:
            users.set_role(s, email, body.role)
        if body.active is not None:
            users.set_active(s, email, body.active)
        if body.password is not None:
            users.set_password(s, email, body.password.get_secret_value())
        return _user(users.get_user(s, email))


@router.delete("/users/{email}", tags=["users"], status_code=NO_CONTENT, openapi_extra=needs("Users", "Delete"))
def delete_user(actor: CurrentActor, email: str) -> Response:
    with actor.session() as s:
        users.delete_user(s, email)
    return Response(status_code=NO_CONTENT)


def _token(t: Any) -> Json:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "created": t.created_at.isoformat(),
            "last_used": t.last_used_at.isoformat() if t.last_used_at else None}


@router.get("/tokens", tags=["users"])
def list_tokens(actor: CurrentActor) -> list[Json]:
    """The caller's own API tokens (never their values)."""
    with actor.session() as s:
        return [_token(t) for t in users.tokens_of(s, actor.user_id)]


@router.post("/tokens", tags=["users"], status_code=201)
def create_token(actor: CurrentActor, body: TokenIn) -> Json:
    """A new API token for the caller; its value is in this answer only."""
    with actor.session() as s:
        token, plain = users.create_token(s, actor.user_id, body.name)
        return {**_token(token), "token": plain}


@router.delete("/tokens/{token_id}", tags=["users"], status_code=NO_CONTENT)
def revoke_token(actor: CurrentActor, token_id: int) -> Response:
    with actor.session() as s:
        users.revoke_token(s, actor.user_id, token_id)
    return Response(status_code=NO_CONTENT)


@router.get("/audit", tags=["audit"], openapi_extra=needs("Audit Log", "View"))
def audit_log(actor: CurrentActor, entity: Opt[str] = None, since: Opt[datetime] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[Json]:
    """Who changed what in this environment (and the hub-wide changes), newest first."""
    with actor.session() as s:
        return [audit.as_dict(e) for e in audit.entries(s, entity=entity, since=since, limit=limit)]
