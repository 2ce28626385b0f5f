"""The customer portal's view of one customer: what the pages show (invoices with search and
paging, an invoice with its lines and what is still owed, payment methods, autopay).

Everything here is scoped to the customer a portal link names — its organisation and the
organisation linked to it in the other system (PSA <-> ERP). An id outside that scope is
answered exactly as an id that does not exist, so changing ids in a URL tells nothing. What
the pages *do* (pay, add a card, switch autopay) is in :mod:`hub.collections.portal_actions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, not_, or_
from sqlmodel import Session, col, select

from connectors.money import round_money
from hub.collections.of_record import copy_connector_ids
from hub.collections.payments import active_method, describe
from hub.collections.receivables import may_owe, owed
from hub.collections.rules.errors import CollectError
from hub.collections.unpaid import collection_of
from hub.platform.models import (
    Contact,
    Invoice,
    InvoiceCollection,
    InvoiceLine,
    Organisation,
    PaymentMethod,
    stored_id,
)
from hub.sync.customers import linked_organisation_id

PER_PAGE = 25
States = Literal["open", "paid"]


class PortalNotFound(CollectError):
    """Nothing of this customer's by that id (whether it exists for another customer is not said)."""

    status = 404


@dataclass(frozen=True)
class Customer:
    """The customer a portal link names: its organisation and the one linked to it."""

    organisation: Organisation
    sides: tuple[Organisation, ...]

    @property
    def id(self) -> int:
        return stored_id(self.organisation)

    @property
    def side_ids(self) -> list[int]:
        return [stored_id(o) for o in self.sides]

    def owns(self) -> ColumnElement[bool]:
        """The SQL condition of an invoice billed to this customer (either side)."""
        return or_(*(and_(col(Invoice.connector_id) == o.connector_id,
                          col(Invoice.organisation_external_id) == o.external_id) for o in self.sides))


def customer(s: Session, organisation_id: int) -> Customer:
    org = s.get(Organisation, organisation_id)
    if org is None or org.is_deleted or org.environment != s.info["environment"]:
        raise PortalNotFound("customer: this customer is not known (any more)")
    linked_id = linked_organisation_id(s, organisation_id)
    linked = s.get(Organisation, linked_id) if linked_id is not None else None
    return Customer(org, (org,) if linked is None or linked.is_deleted else (org, linked))


@dataclass(frozen=True)
class PortalInvoice:
    id: int
    number: str
    invoice_date: date | None
    due_date: date | None
    currency: str | None
    total: Decimal
    owed: Decimal
    status: str
    overdue: bool

    @property
    def is_open(self) -> bool:
        return self.owed > 0


@dataclass(frozen=True)
class InvoicePage:
    rows: list[PortalInvoice]
    state: States
    q: str
    page: int
    pages: int
    total: int
    open_count: int
    open_amounts: dict[str, Decimal] = field(default_factory=dict)


def _row(c: Customer, invoice: Invoice, collection: InvoiceCollection | None, today: date) -> PortalInvoice:
    left = owed(invoice, collection)
    currency = (invoice.currency or c.organisation.currency or "").upper() or None
    shown = round_money(left, currency) if currency else left
    return PortalInvoice(stored_id(invoice), invoice.number, invoice.invoice_date, invoice.due_date, currency,
                         invoice.total, shown, "open" if left > 0 else "paid",
                         left > 0 and invoice.due_date is not None and invoice.due_date < today)


def _rows(s: Session, c: Customer, found: Sequence[Invoice], today: date) -> list[PortalInvoice]:
    held = {h.invoice_id: h for h in s.exec(select(InvoiceCollection).where(
        col(InvoiceCollection.invoice_id).in_([stored_id(i) for i in found])))} if found else {}
    return [_row(c, i, held.get(stored_id(i)), today) for i in found]


def _owing_condition() -> ColumnElement[bool]:
    found = may_owe(select(col(Invoice.id))).whereclause
    assert found is not None
    return found


#: the SQL condition of an invoice that may still owe something (the rule decides each row shown)
OWING = _owing_condition()


def invoices(s: Session, c: Customer, today: date, *, state: str = "open", q: str | None = None, page: int = 1,
             per_page: int = PER_PAGE) -> InvoicePage:
    """One page of the customer's open (oldest due first) or paid (newest first) invoices whose
    number contains ``q``."""
    if state not in ("open", "paid"):
        raise CollectError(f"state: must be open or paid, not {state!r}")
    kind: States = "open" if state == "open" else "paid"
    if page < 1 or not 1 <= per_page <= 200:
        raise CollectError("page: must be 1 or more")
    # a copy of another system's receivable is not the customer's to pay (it would show each bill twice)
    mine = and_(c.owns(), col(Invoice.is_deleted).is_(False),
                col(Invoice.connector_id).not_in(sorted(copy_connector_ids(s))))
    needle = (q or "").strip()
    listed = [mine, OWING if kind == "open" else not_(OWING)]
    if needle:
        listed.append(func.lower(col(Invoice.number)).contains(needle.lower(), autoescape=True))
    total = s.exec(select(func.count()).select_from(Invoice).where(*listed)).one()
    order = ([col(Invoice.due_date).is_(None), col(Invoice.due_date), col(Invoice.id)] if kind == "open"
             else [col(Invoice.invoice_date).desc(), col(Invoice.id).desc()])
    found = s.exec(select(Invoice).where(*listed).order_by(*order).offset((page - 1) * per_page).limit(per_page)).all()
    open_count, amounts = _owing(s, c, mine)
    return InvoicePage(_rows(s, c, found, today), kind, needle, page, max(1, -(-total // per_page)), total,
                       open_count, amounts)


def _owing(s: Session, c: Customer, mine: ColumnElement[bool]) -> tuple[int, dict[str, Decimal]]:
    """How many invoices the customer may still owe, and what in all per currency (by the
    source's amounts due: the list's heading)."""
    code = func.coalesce(col(Invoice.currency), "")
    rows = s.exec(select(code, func.count(), func.sum(col(Invoice.amount_due))).where(mine, OWING)
                  .group_by(code)).all()
    amounts: dict[str, Decimal] = {}
    for currency, _, total in rows:
        if total:
            key = (currency or c.organisation.currency or "").upper()
            amounts[key] = amounts.get(key, Decimal(0)) + Decimal(total)
    return sum(n for _, n, _ in rows), amounts


@dataclass(frozen=True)
class PortalInvoiceDetail:
    invoice: PortalInvoice
    lines: list[dict[str, Any]]
    tax: Decimal | None
    paid: Decimal


def invoice(s: Session, c: Customer, invoice_id: int, today: date) -> PortalInvoiceDetail:
    """The customer's invoice ``invoice_id`` with its lines and what is still owed.

    Raises:
        PortalNotFound: no such invoice of this customer (another customer's is answered the same).
    """
    found = owned_invoice(s, c, invoice_id)
    lines = s.exec(select(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice_id)
                   .order_by(col(InvoiceLine.line_no), col(InvoiceLine.id))).all()
    row = _row(c, found, collection_of(s, invoice_id), today)
    return PortalInvoiceDetail(row, [{"description": ln.description or ln.item_code or "", "quantity": ln.quantity,
                                      "unit_price": ln.unit_price, "amount": ln.amount} for ln in lines],
                               found.tax, max(found.total - row.owed, Decimal(0)))


def owned_invoice(s: Session, c: Customer, invoice_id: int) -> Invoice:
    found = s.exec(select(Invoice).where(col(Invoice.id) == invoice_id, c.owns(),
                                         col(Invoice.is_deleted).is_(False))).one_or_none()
    if found is None:
        raise PortalNotFound(f"invoice: you have no invoice {invoice_id}")
    return found


def owned_invoice_ids(s: Session, c: Customer, invoice_ids: list[int]) -> list[int]:
    """``invoice_ids`` when every one is the customer's; else PortalNotFound naming the first that is not."""
    ids = list(dict.fromkeys(invoice_ids))
    mine = set(s.exec(select(col(Invoice.id)).where(col(Invoice.id).in_(ids), c.owns(),
                                                    col(Invoice.is_deleted).is_(False))).all())
    for i in ids:
        if i not in mine:
            raise PortalNotFound(f"invoice: you have no invoice {i}")
    return ids


@dataclass(frozen=True)
class MethodView:
    organisation_id: int
    kind: str
    description: str
    holder: str | None
    autopay: bool


def methods(s: Session, c: Customer) -> list[MethodView]:
    """The customer's active payment methods (its own first; the linked side's pays while it has none)."""
    found: list[PaymentMethod] = [m for m in (active_method(s, i) for i in c.side_ids) if m is not None]
    return [MethodView(m.organisation_id, m.kind, describe(m), m.holder_name, m.autopay)
            for m in found if m.kind != "none"]


@dataclass(frozen=True)
class CodeContact:
    id: int
    name: str
    masked_email: str


def _mask(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}{'•' * max(len(name) - 1, 2)}@{domain}"


def code_contacts(s: Session, c: Customer) -> list[CodeContact]:
    """The contacts of the customer (either side) a one-time code can be e-mailed to; their
    addresses half hidden (the page is shown before the visitor has proven anything)."""
    found = s.exec(select(Contact).where(
        or_(*(and_(col(Contact.connector_id) == o.connector_id, col(Contact.organisation_external_id) == o.external_id)
              for o in c.sides)), col(Contact.is_deleted).is_(False), col(Contact.email).is_not(None))
        .order_by(col(Contact.is_billing_contact).desc(), col(Contact.id))).all()
    return [CodeContact(stored_id(p), " ".join(x for x in (p.first_name, p.last_name) if x), _mask(p.email or ""))
            for p in found if p.email and "@" in p.email]
