"""What the pages and the API show: read-only queries of one environment's store, as plain dicts.

Filters are parsed by the routes; nothing here decides a business outcome.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, overload

from sqlalchemy import Select, func, or_, select
from sqlmodel import Session, col

from connectors.registry import connector_class
from hub.billing.rules import dashboard
from hub.collections import payments
from hub.collections.of_record import pairs, receivable_only
from hub.collections.receivables import may_owe, owed
from hub.platform.hub_settings import get_section
from hub.platform.models import (
    ENTITY_TABLES,
    CardRequest,
    Connector,
    Contact,
    Invoice,
    InvoiceCollection,
    Organisation,
    OrganisationLink,
    PaymentMethod,
    PlanLine,
    ProgramType,
    ReasonCode,
    SubscriptionAction,
    SubscriptionPlan,
    SyncRun,
)
from hub.sync.customers import linked_organisation_id

PAGE_SIZE = 200
Row = TypeVar("Row", bound=tuple[Any, ...])


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


def _where_given(query: Select[Row], *filters: tuple[Any, Callable[[Any, Any], Any], object]) -> Select[Row]:
    """``query`` narrowed by ``compare(column, value)`` for each ``(column, compare, value)`` filter
    whose value was given (not empty)."""
    for column, compare, value in filters:
        if value:
            query = query.where(compare(column, value))
    return query


# --- connector cards ------------------------------------------------------------------------


def card_view(s: Session, card: Connector) -> dict[str, Any]:
    """A card as the page shows it: status, last sync, the last run's and the hub's counts per stream."""
    cls = connector_class(card.kind)
    last = s.execute(select(SyncRun).where(col(SyncRun.connector_id) == card.id)
                     .order_by(col(SyncRun.id).desc())).scalars().first()
    in_hub: dict[str, int] = {}
    for spec in cls.streams:
        table = ENTITY_TABLES[spec.entity]
        in_hub[spec.name] = s.execute(select(func.count()).select_from(table).where(
            col(table.connector_id) == card.id, col(table.is_deleted).is_(False))).scalar_one()
    return {
        "name": card.name, "kind": card.kind, "title": cls.title, "environment": card.environment,
        "status": card.status, "last_error": card.last_error, "last_sync": _iso(card.last_sync_at),
        "settings": card.settings, "secrets": dict.fromkeys(cls.secrets_model.model_fields, "********"),
        "in_hub": in_hub, "syncs": bool(cls.streams),
        "last_run": None if last is None else {
            "id": last.id, "status": last.status, "mode": last.mode, "started": _iso(last.started_at),
            "finished": _iso(last.finished_at), "counts": last.counts, "error": last.error},
    }


def erp_cards(s: Session) -> list[Connector]:
    """Cards that plans can bill through (connectors that write sales orders)."""
    return [c for c in s.execute(select(Connector).order_by(col(Connector.name))).scalars()
            if hasattr(connector_class(c.kind), "create_sales_order")]


# --- customers --------------------------------------------------------------------------------


def _link_partners(s: Session, org_ids: list[int]) -> dict[int, tuple[Organisation, OrganisationLink]]:
    if not org_ids:
        return {}
    links = list(s.execute(select(OrganisationLink).where(or_(
        col(OrganisationLink.psa_organisation_id).in_(org_ids),
        col(OrganisationLink.erp_organisation_id).in_(org_ids)))).scalars())
    other_ids = {lk.erp_organisation_id for lk in links} | {lk.psa_organisation_id for lk in links}
    others = {o.id: o for o in s.execute(select(Organisation).where(col(Organisation.id).in_(other_ids))).scalars()}
    result: dict[int, tuple[Organisation, OrganisationLink]] = {}
    for lk in links:
        result[lk.psa_organisation_id] = (others[lk.erp_organisation_id], lk)
        result[lk.erp_organisation_id] = (others[lk.psa_organisation_id], lk)
    return result


def customers(s: Session, *, connector: str | None = None, q: str | None = None, limit: int = PAGE_SIZE) -> list[dict[str, Any]]:
    query = (select(Organisation, col(Connector.name)).join(Connector, col(Connector.id) == Organisation.connector_id)
             .where(col(Organisation.is_deleted).is_(False)))
    if connector:
        query = query.where(col(Connector.name) == connector)
    if q:
        query = query.where(func.lower(Organisation.name).contains(q.lower(), autoescape=True))
    rows = list(s.execute(query.order_by(col(Organisation.name), col(Organisation.id)).limit(limit)))
    partners = _link_partners(s, [o.id for o, _ in rows if o.id is not None])
    cards = {c.id: c.name for c in s.execute(select(Connector)).scalars()}
    result = []
    for org, card_name in rows:
        partner = partners.get(org.id)
        result.append({
            "id": org.id, "external_id": org.external_id, "name": org.name, "connector": card_name,
            "code": org.code, "email": org.email, "currency": org.currency, "is_active": org.is_active,
            "linked": None if partner is None else {
                "id": partner[0].id, "name": partner[0].name, "connector": cards.get(partner[0].connector_id),
                "external_id": partner[0].external_id, "method": partner[1].method},
        })
    return result


def customer(s: Session, org_id: int) -> dict[str, Any] | None:
    org = s.get(Organisation, org_id)
    if org is None:
        return None
    card = s.get(Connector, org.connector_id)
    partner = _link_partners(s, [org_id]).get(org_id)
    side_ids = [org.id] + ([partner[0].id] if partner else [])
    sides = list(s.execute(select(Organisation).where(col(Organisation.id).in_(side_ids))).scalars())
    contacts, invoices = [], []
    for side in sides:
        contacts += [{"id": c.id, "name": " ".join(p for p in (c.first_name, c.last_name) if p),
                      "email": c.email, "phone": c.phone, "job_title": c.job_title, "billing": c.is_billing_contact,
                      "primary": c.is_primary}
                     for c in s.execute(select(Contact).where(
                         col(Contact.connector_id) == side.connector_id,
                         col(Contact.organisation_external_id) == side.external_id,
                         col(Contact.is_deleted).is_(False)).order_by(col(Contact.last_name))).scalars()]
        invoices += invoice_rows(s, organisation=side, limit=50)
    plans = [{"id": p.id, "name": p.name, "status": p.status} for p in s.execute(
        select(SubscriptionPlan).where(col(SubscriptionPlan.organisation_id).in_(side_ids))).scalars()]
    return {
        "id": org.id, "external_id": org.external_id, "name": org.name, "connector": card.name if card else None,
        "code": org.code, "tax_id": org.tax_id, "email": org.email, "phone": org.phone, "currency": org.currency,
        "linked": None if partner is None else {"id": partner[0].id, "name": partner[0].name,
                                                 "external_id": partner[0].external_id, "method": partner[1].method,
                                                 "detail": partner[1].detail},
        "contacts": contacts, "invoices": invoices, "plans": plans,
    }


@overload
def payment_method_view(method: PaymentMethod) -> dict[str, Any]: ...


@overload
def payment_method_view(method: None) -> None: ...


def payment_method_view(method: PaymentMethod | None) -> dict[str, Any] | None:
    """The active method as the panel shows it (never a card number: the gateway vaults it)."""
    if method is None:
        return None
    return {"id": method.id, "organisation_id": method.organisation_id, "kind": method.kind,
            "description": payments.describe(method), "card_brand": method.card_brand,
            "card_last4": method.card_last4, "holder": method.holder_name,
            "expiry": (f"{method.card_exp_month:02d}/{method.card_exp_year}"
                       if method.card_exp_month and method.card_exp_year else None),
            "mandate_reference": method.mandate_reference, "account_last4": method.account_last4,
            "mandate_date": method.mandate_date.isoformat() if method.mandate_date else None,
            "account_type": method.account_type, "footer_note": method.footer_note, "created_at": _iso(method.created_at)}


def card_request_view(request: CardRequest) -> dict[str, Any]:
    return {"id": request.id, "organisation_id": request.organisation_id, "contact_id": request.contact_id,
            "method": request.method, "email": request.email, "url": request.url, "status": request.status, "error": request.error,
            "created_at": _iso(request.created_at), "completed_at": _iso(request.completed_at)}


def payment_panel(s: Session, org_id: int) -> dict[str, Any]:
    """The customer's Payment method panel: the active method and the card forms still open
    (also of an organisation deleted in its source, whose page still shows)."""
    org = s.get(Organisation, org_id)
    if org is None:
        raise payments.PaymentMethodError(f"organisation: no organisation {org_id} in {s.info['environment']}")
    pending = s.execute(select(CardRequest).where(col(CardRequest.organisation_id) == org_id,
                                                  col(CardRequest.status) == "sent")
                        .order_by(col(CardRequest.id).desc())).scalars()
    method = payments.active_method(s, org_id)
    linked_id = None if method is not None else linked_organisation_id(s, org_id)
    linked = payments.active_method(s, linked_id) if linked_id is not None else None
    return {"organisation_id": org.id, "method": payment_method_view(method),
            "linked_method": payment_method_view(linked),  # pays this customer's invoices while it has none
            "pending_requests": [card_request_view(r) for r in pending]}


def notification_overrides(s: Session) -> dict[str, dict[str, str]]:
    """Per notification type, the ticket fields it sets itself (the rest follow the shared configuration)."""
    stored = get_section(s, "notifications").get("types") or {}
    return {kind: {k: v for k, v in cfg.items() if k in ("destination", "priority", "issue_type") and v}
            for kind, cfg in stored.items() if isinstance(cfg, dict)}


# --- invoices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceFilter:
    connector: str | None = None
    q: str | None = None  # number or customer name contains
    status: str | None = None
    start: date | None = None
    end: date | None = None
    currency: str | None = None
    unpaid: bool = False


def invoice_rows(s: Session, f: InvoiceFilter | None = None, *, organisation: Organisation | None = None,
                 limit: int = PAGE_SIZE) -> list[dict[str, Any]]:
    f = f or InvoiceFilter()
    query = (select(Invoice, col(Connector.name), col(Organisation.name))
             .join(Connector, col(Connector.id) == Invoice.connector_id)
             .outerjoin(Organisation, (col(Organisation.connector_id) == Invoice.connector_id)
                        & (col(Organisation.external_id) == Invoice.organisation_external_id))
             .where(col(Invoice.is_deleted).is_(False)))
    if organisation is not None:
        query = query.where(col(Invoice.connector_id) == organisation.connector_id,
                            col(Invoice.organisation_external_id) == organisation.external_id)
    if f.q:
        needle = f.q.lower()
        query = query.where(or_(func.lower(Invoice.number).contains(needle, autoescape=True),
                                   func.lower(Organisation.name).contains(needle, autoescape=True)))
    query = _where_given(query, (col(Connector.name), operator.eq, f.connector),
                         (col(Invoice.status), operator.eq, f.status),
                         (col(Invoice.invoice_date), operator.ge, f.start),
                         (col(Invoice.invoice_date), operator.le, f.end),
                         (col(Invoice.currency), operator.eq, f.currency))
    if f.unpaid:
        query = receivable_only(s, may_owe(query))
    rows = list(s.execute(query.order_by(col(Invoice.invoice_date).desc(), col(Invoice.id).desc()).limit(limit)))
    if f.unpaid:  # the one still-owed rule decides each row the query left
        collections = {c.invoice_id: c for c in s.execute(select(InvoiceCollection).where(
            col(InvoiceCollection.invoice_id).in_([inv.id for inv, _, _ in rows]))).scalars()}
        rows = [r for r in rows if owed(r[0], collections.get(r[0].id)) > 0]
    record_of = {p.copy.id: p.record.name for p in pairs(s)}  # a copy's source -> the receivable's
    return [{"id": inv.id, "number": inv.number, "connector": card_name, "customer": org_name,
             "status": inv.status, "invoice_date": _iso(inv.invoice_date), "due_date": _iso(inv.due_date),
             "currency": inv.currency, "total": _money(inv.total), "amount_due": _money(inv.amount_due),
             "copy_of": record_of.get(inv.connector_id)}
            for inv, card_name, org_name in rows]


def invoice_statuses(s: Session) -> list[str]:
    return sorted(x for x in s.execute(select(col(Invoice.status)).distinct()).scalars() if x)


# --- plans, lines, actions, reference data ----------------------------------------------------


def plan_row(s: Session, plan: SubscriptionPlan) -> dict[str, Any]:
    org = s.get(Organisation, plan.organisation_id)
    card = s.get(Connector, plan.connector_id)
    program = s.get(ProgramType, plan.program_type_id)
    return {
        "id": plan.id, "name": plan.name, "status": plan.status, "connector": card.name if card else None,
        "customer": org.name if org else None, "customer_id": org.external_id if org else None,
        "organisation_id": plan.organisation_id, "program_type": program.name if program else None,
        "billing_period_type": plan.billing_period_type, "billing_period_unit": plan.billing_period_unit,
        "billing_period_length": plan.billing_period_length, "global_start": _iso(plan.global_start),
        "global_end": _iso(plan.global_end), "fixed_cycles": plan.fixed_cycles,
        "automatic_renewal": plan.automatic_renewal, "renewal_notice": plan.renewal_notice,
        "renewal_notice_days": plan.renewal_notice_days, "reason_code": plan.reason_code,
        "salesperson": plan.salesperson, "pays_by_mandate": plan.pays_by_mandate,
        "term_start": _iso(plan.term_start or plan.global_start), "cancel_reason_code": plan.cancel_reason_code,
        "cancelled_at": plan.cancelled_at.isoformat(timespec="seconds") if plan.cancelled_at else None,
        "cancelled_by": plan.cancelled_by,
    }


def plans(s: Session, status: str | None = None) -> list[dict[str, Any]]:
    query = select(SubscriptionPlan).order_by(col(SubscriptionPlan.id).desc())
    if status:
        query = query.where(col(SubscriptionPlan.status) == status)
    return [plan_row(s, p) for p in s.execute(query).scalars()]


def line_row(line: PlanLine) -> dict[str, Any]:
    return {"id": line.id, "plan_id": line.plan_id, "enabled": line.enabled, "product": line.product,
            "quantity": _money(line.quantity), "sales_price": _money(line.sales_price), "currency": line.currency,
            "discount_amount": _money(line.discount_amount), "discount_percent": _money(line.discount_percent),
            "billing_period_amount": _money(line.billing_period_amount),
            "billing_period_amount_after_discount": _money(line.billing_period_amount_after_discount),
            "one_time_fee": line.one_time_fee, "is_addon": line.is_addon, "unit": line.unit,
            "reason_code": line.reason_code, "start": _iso(line.start), "end": _iso(line.end)}


def plan_lines(s: Session, plan_id: int) -> list[dict[str, Any]]:
    return [line_row(x) for x in s.execute(select(PlanLine).where(col(PlanLine.plan_id) == plan_id)
                                           .order_by(col(PlanLine.id))).scalars()]


@dataclass(frozen=True)
class ActionFilter:
    status: str | None = None
    action_type: str | None = None
    start: date | None = None
    end: date | None = None
    customer: int | None = None  # organisation id
    plan_id: int | None = None


def action_rows(s: Session, f: ActionFilter | None = None, limit: int = 500, offset: int = 0,
                count: bool = False) -> Any:
    """The actions ``f`` selects, ``limit`` from ``offset`` (or how many there are, with ``count``)."""
    f = f or ActionFilter()
    query = (select(SubscriptionAction, col(Organisation.name), col(SubscriptionPlan.organisation_id))
             .join(SubscriptionPlan, col(SubscriptionPlan.id) == SubscriptionAction.plan_id)
             .join(Organisation, col(Organisation.id) == SubscriptionPlan.organisation_id))
    query = _where_given(query, (col(SubscriptionAction.status), operator.eq, f.status),
                         (col(SubscriptionAction.action_type), operator.eq, f.action_type),
                         (col(SubscriptionAction.action_date), operator.ge, f.start),
                         (col(SubscriptionAction.action_date), operator.le, f.end),
                         (col(SubscriptionPlan.organisation_id), operator.eq, f.customer),
                         (col(SubscriptionAction.plan_id), operator.eq, f.plan_id))
    if count:
        return s.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = s.execute(query.order_by(col(SubscriptionAction.action_date), col(SubscriptionAction.id))
                     .offset(offset).limit(limit))
    return [{"id": a.id, "key": a.key, "plan_id": a.plan_id, "customer": org_name, "organisation_id": org_id,
             "type": a.action_type, "status": a.status, "action_date": _iso(a.action_date),
             "date_from": _iso(a.date_from), "date_to": _iso(a.date_to), "product": a.product,
             "quantity": _money(a.quantity), "net_amount": _money(a.net_amount), "currency": a.currency,
             "credit_note": a.credit_note, "order_id": a.order_id, "order_number": a.order_number,
             "invoice_id": a.invoice_id, "invoice_number": a.invoice_number, "invoice_date": _iso(a.invoice_date),
             "cancelled_by": a.cancelled_by, "error": a.error}
            for a, org_name, org_id in rows]


def plan_customers(s: Session) -> list[tuple[int, str]]:
    """Organisations that have plans: the actions page's customer filter."""
    rows = s.execute(select(col(Organisation.id), col(Organisation.name)).join(
        SubscriptionPlan, col(SubscriptionPlan.organisation_id) == Organisation.id).distinct()
        .order_by(col(Organisation.name)))
    return [(i, n) for i, n in rows]


def reason_codes(s: Session) -> list[dict[str, Any]]:
    return [{"code": r.code, "types": r.types, "default_for": r.default_for, "description": r.description}
            for r in s.execute(select(ReasonCode).order_by(col(ReasonCode.code))).scalars()]


def program_types(s: Session) -> list[dict[str, Any]]:
    return [{"name": p.name, "period_type": p.period_type, "subscription_type": p.subscription_type}
            for p in s.execute(select(ProgramType).order_by(col(ProgramType.name))).scalars()]


# --- dashboard ------------------------------------------------------------------------------


def dashboard_facts(s: Session) -> tuple[list[dashboard.PlanFact], list[dashboard.ActionFact]]:
    currencies: dict[int | None, set[str]] = {}
    for plan_id, currency in s.execute(select(col(PlanLine.plan_id), col(PlanLine.currency))):
        currencies.setdefault(plan_id, set()).add(currency)
    plans_ = [dashboard.PlanFact(
        customer=p.organisation_id, status=p.status, start=p.global_start, end=p.global_end,
        # when it was cancelled (before that was kept: its last change)
        cancelled_on=(p.cancelled_at or p.updated_at).date() if p.status == "Cancelled" else None,
        currencies=frozenset(currencies.get(p.id, set())))
        for p in s.execute(select(SubscriptionPlan)).scalars()]
    actions = [dashboard.ActionFact(
        created_on=a.created_at.date(), action_date=a.action_date, status=a.status, currency=a.currency,
        net=a.net_amount, credit_note=a.credit_note,
        posted_on=(a.invoice_date or a.posting_date or a.action_date) if a.status == "Posted" else None)
        for a in s.execute(select(SubscriptionAction)).scalars()]
    return plans_, actions


def currencies(s: Session) -> list[str]:
    return sorted({c for c in s.execute(select(col(PlanLine.currency)).distinct()).scalars() if c}
                  | {c for c in s.execute(select(col(SubscriptionAction.currency)).distinct()).scalars() if c})
