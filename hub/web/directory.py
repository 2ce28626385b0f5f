"""The customers list: one row per customer, merged across the PSA, the ERP and the gateway.

A customer is a PSA organisation with the ERP customer linked to it, or an organisation no link
joins to another; an ERP customer linked to a PSA organisation shows on its partner's row. The
payment method (the gateway side) belongs to either. Filters and ordering run in the database,
paged by offset over the ``(environment, name, id)`` index; only the page's rows are enriched
(their payment method and what they still owe, by the one rule of receivables).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlmodel import Session, col

from connectors.registry import role_of
from hub.collections import payments
from hub.collections.receivables import may_owe, owed
from hub.platform.errors import InputError
from hub.platform.models import (
    Connector,
    Invoice,
    InvoiceCollection,
    Organisation,
    OrganisationLink,
    PaymentMethod,
    table_of,
)

PAGE_SIZE = 50
SORTS = {"name": "Name A–Z", "-name": "Name Z–A", "-id": "Newest first"}
STATUSES = {"active": "Active", "inactive": "Inactive", "linked": "Linked PSA ↔ ERP", "unlinked": "Not linked"}
GATEWAY = "gateway"  # the "system" filter's value for customers with a payment method on file


class DirectoryError(InputError):
    """A filter or sort the customers list does not know."""


@dataclass(frozen=True)
class CustomerFilter:
    q: str | None = None  # name, code, tax id or e-mail contains (either side)
    system: str | None = None  # a connector card's name, or "gateway"
    status: str | None = None  # one of STATUSES
    overdue: bool = False
    sort: str = "name"
    page: int = 1

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise DirectoryError(f"sort: must be one of {', '.join(SORTS)}, not {self.sort!r}")
        if self.status and self.status not in STATUSES:
            raise DirectoryError(f"status: must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.page < 1:
            raise DirectoryError(f"page: must be 1 or more, not {self.page}")


def _owes_overdue(connector_id: Any, external_id: Any, today: date) -> Any:
    """SQL: the organisation (its two columns) has an invoice past its due date that may still owe
    something and the hub has not collected in full (the rule decides the amounts of the rows shown)."""
    query = may_owe(select(col(Invoice.id)).where(col(Invoice.connector_id) == connector_id,
                                                  col(Invoice.organisation_external_id) == external_id,
                                                  col(Invoice.due_date) < today))
    return exists(query.where(not_(exists(select(col(InvoiceCollection.id)).where(
        col(InvoiceCollection.invoice_id) == col(Invoice.id), col(InvoiceCollection.paid_at).is_not(None))))))


def _query(s: Session, f: CustomerFilter, today: date) -> Any:
    # The session scopes Organisation (the row's own side) to its environment; the link and the
    # partner are reached by id from it, as plain table aliases the scoping leaves alone.
    org = Organisation
    link, partner = table_of(OrganisationLink).alias("link"), table_of(Organisation).alias("partner")
    erp_side = select(col(OrganisationLink.id)).where(col(OrganisationLink.erp_organisation_id) == col(org.id))
    query = (select(col(org.id), partner.c.id).select_from(org)
             .outerjoin(link, link.c.psa_organisation_id == col(org.id))
             .outerjoin(partner, partner.c.id == link.c.erp_organisation_id)
             .where(col(org.is_deleted).is_(False), not_(exists(erp_side))))
    if f.q:
        needle = f.q.strip().lower()
        fields = [func.lower(func.coalesce(column, "")).contains(needle, autoescape=True)
                  for name in ("name", "code", "tax_id", "email") for column in (col(getattr(org, name)), partner.c[name])]
        query = query.where(or_(*fields))
    if f.system == GATEWAY:
        query = query.where(exists(select(col(PaymentMethod.id)).where(
            or_(col(PaymentMethod.organisation_id) == col(org.id), col(PaymentMethod.organisation_id) == partner.c.id),
            col(PaymentMethod.status) == "active", col(PaymentMethod.kind) != "none")))
    elif f.system:
        card = s.execute(select(col(Connector.id)).where(col(Connector.name) == f.system)).scalar()
        if card is None:
            raise DirectoryError(f"system: no connector named {f.system!r} in {s.info['environment']}")
        query = query.where(or_(col(org.connector_id) == card, partner.c.connector_id == card))
    if f.status == "active":
        query = query.where(col(org.is_active).is_(True))
    elif f.status == "inactive":
        query = query.where(col(org.is_active).is_(False))
    elif f.status == "linked":
        query = query.where(link.c.id.is_not(None))
    elif f.status == "unlinked":
        query = query.where(link.c.id.is_(None))
    if f.overdue:
        query = query.where(or_(_owes_overdue(col(org.connector_id), col(org.external_id), today),
                                and_(partner.c.id.is_not(None),
                                     _owes_overdue(partner.c.connector_id, partner.c.external_id, today))))
    return query


def _order(query: Any, sort: str) -> Any:
    if sort == "-id":
        return query.order_by(col(Organisation.id).desc())
    if sort == "-name":
        return query.order_by(col(Organisation.name).desc(), col(Organisation.id).desc())
    return query.order_by(col(Organisation.name), col(Organisation.id))


def customer_page(s: Session, f: CustomerFilter, today: date, size: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of the customers list: its rows, how many match, and the page count."""
    query = _query(s, f, today)
    total = s.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    ids = [(a, b) for a, b in s.execute(_order(query, f.sort).offset((f.page - 1) * size).limit(size))]
    return {"rows": _rows(s, ids, today), "total": total, "page": f.page, "pages": max(1, -(-total // size)),
            "more": False}


def _rows(s: Session, ids: list[tuple[int, int | None]], today: date) -> list[dict[str, Any]]:
    wanted = {i for pair in ids for i in pair if i is not None}
    orgs = {o.id: o for o in s.execute(select(Organisation).where(col(Organisation.id).in_(wanted))).scalars()}
    cards = {c.id: c for c in s.execute(select(Connector)).scalars()}
    methods = {m.organisation_id: m for m in s.execute(select(PaymentMethod).where(
        col(PaymentMethod.organisation_id).in_(wanted), col(PaymentMethod.status) == "active")).scalars()}
    owing = _owing(s, [orgs[i] for i in wanted], today)
    rows = []
    for first, second in ids:
        sides = [orgs[first]] + ([orgs[second]] if second is not None else [])
        method = next((methods[o.id] for o in sides if o.id in methods), None)
        open_: dict[str, Decimal] = {}
        overdue: dict[str, Decimal] = {}
        for side in sides:
            for currency, (left, late) in owing.get(side.id, {}).items():
                open_[currency] = open_.get(currency, Decimal(0)) + left
                if late:
                    overdue[currency] = overdue.get(currency, Decimal(0)) + late
        main = sides[0]
        rows.append({
            "id": main.id, "name": main.name, "email": main.email or next((o.email for o in sides if o.email), None),
            "currency": main.currency, "is_active": main.is_active,
            "systems": [{"id": o.id, "connector": cards[o.connector_id].name, "kind": cards[o.connector_id].kind,
                         "role": role_of(cards[o.connector_id].kind), "external_id": o.external_id,
                         "name": o.name} for o in sides],
            "payment_method": payments.describe(method) if method is not None and method.kind != "none" else None,
            "open": open_, "overdue": overdue})
    return rows


def _owing(s: Session, orgs: list[Organisation], today: date) -> dict[int | None, dict[str, tuple[Decimal, Decimal]]]:
    """Per organisation and currency: (still owed, of which overdue) — the page's rows only."""
    if not orgs:
        return {}
    by_key = {(o.connector_id, o.external_id): o for o in orgs}
    query = may_owe(select(Invoice, InvoiceCollection)
                    .outerjoin(InvoiceCollection, col(InvoiceCollection.invoice_id) == col(Invoice.id))
                    .where(or_(*[and_(col(Invoice.connector_id) == c, col(Invoice.organisation_external_id) == e)
                                 for c, e in by_key])))
    out: dict[int | None, dict[str, tuple[Decimal, Decimal]]] = {}
    for invoice, collection in s.execute(query):
        left = owed(invoice, collection)
        if left <= 0:
            continue
        org = by_key[(invoice.connector_id, invoice.organisation_external_id)]
        currency = ((invoice.currency or "").strip() or org.currency or "?").upper()
        was_left, was_late = out.setdefault(org.id, {}).get(currency, (Decimal(0), Decimal(0)))
        late = left if invoice.due_date is not None and invoice.due_date < today else Decimal(0)
        out[org.id][currency] = (was_left + left, was_late + late)
    return out
