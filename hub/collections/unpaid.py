"""Unpaid invoices (seed 000's list): every invoice that still owes something, with how its
customer pays and where its charges stand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from hub.collections.of_record import receivable_only
from hub.collections.payments import Payer, describe, payer
from hub.collections.receivables import may_owe, owed
from hub.collections.rules import (
    PaymentMethodKind,
)
from hub.collections.rules.errors import CollectError
from hub.platform.models import Charge, ChargeAllocation, Connector, Invoice, InvoiceCollection, Organisation, stored_id

#: charges still being settled: no new attempt of the invoice until the gateway says what happened
OPEN = ("pending", "unknown")


#: attempts that count (a "failed" one never reached the card: it is tried again; a "returned"
#: one is an ACH debit the bank gave back after it was taken)
COUNTED = ("pending", "unknown", "succeeded", "declined", "returned")


@dataclass(frozen=True)
class UnpaidInvoice:
    """A row of the Unpaid Invoices list (seed 000), with how its customer pays."""

    invoice_id: int
    number: str
    source: str
    organisation_id: int | None
    organisation: str | None
    currency: str | None
    balance: Decimal
    invoice_date: date | None
    due_date: date | None
    payment_method: str  # card | direct_debit | none
    method: str  # in words: "VISA ending 1111 (12/2030)"
    attempts: int
    next_retry_on: date | None
    stopped_reason: str | None
    last_status: str | None

    def as_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, (Decimal, date)) else v) for k, v in asdict(self).items()}


def collection_of(s: Session, invoice_id: int) -> InvoiceCollection | None:
    return s.exec(select(InvoiceCollection).where(InvoiceCollection.invoice_id == invoice_id)).one_or_none()


def charges_of(s: Session, invoice_id: int) -> list[Charge]:
    """The invoice's charges: its own, and those that paid it together with other invoices."""
    together = select(ChargeAllocation.charge_id).where(ChargeAllocation.invoice_id == invoice_id)
    return list(s.exec(select(Charge).where(or_(col(Charge.invoice_id) == invoice_id, col(Charge.id).in_(together)))
                       .order_by(col(Charge.attempt), col(Charge.id))))


def allocations_of(s: Session, charge: Charge) -> list[tuple[int, Decimal]]:
    """(invoice id, amount) the charge pays: its one invoice in full, or its part of each."""
    parts = s.exec(select(ChargeAllocation).where(ChargeAllocation.charge_id == charge.id)
                   .order_by(col(ChargeAllocation.id))).all()
    return [(p.invoice_id, p.amount) for p in parts] or [(charge.invoice_id, charge.amount)]


def currency_of(s: Session, invoice: Invoice, org: Organisation | None) -> str | None:
    code = (invoice.currency or "").strip() or (org.currency if org is not None else None)
    return code.upper() if code else None


def open_invoices(s: Session) -> Iterator[tuple[Invoice, InvoiceCollection | None, Decimal, Payer | None]]:
    """Every receivable invoice with something left to pay: (invoice, its collection state, the
    balance, who pays). A copy of another system's receivable is not one (``of_record.py``)."""
    for invoice in s.exec(receivable_only(s, may_owe(select(Invoice)))):
        collection = collection_of(s, stored_id(invoice))
        left = owed(invoice, collection)
        if left > 0:
            yield invoice, collection, left, payer(s, invoice)


def owed_by_currency(s: Session) -> dict[str, Decimal]:
    """What the receivable still owes, per currency (copies of another system's invoices left out)."""
    query = receivable_only(s, may_owe(select(Invoice, InvoiceCollection).outerjoin(
        InvoiceCollection, col(InvoiceCollection.invoice_id) == col(Invoice.id))))
    totals: dict[str, Decimal] = {}
    for invoice, collection in s.exec(query):
        left = owed(invoice, collection)
        if left > 0:
            currency = (invoice.currency or "").strip().upper() or "?"
            totals[currency] = totals.get(currency, Decimal(0)) + left
    return dict(sorted(totals.items()))


def unpaid_invoices(s: Session, payment_method: str | None = None) -> list[UnpaidInvoice]:
    """Unpaid invoices of every source, oldest due first; ``payment_method`` (card,
    direct_debit, none) keeps those whose customer pays so."""
    if payment_method is not None and payment_method not in {k.value for k in PaymentMethodKind}:
        raise CollectError(f"payment_method: must be card, direct_debit or none, not {payment_method!r}")
    names = {c.id: c.name for c in s.exec(select(Connector))}
    rows: list[UnpaidInvoice] = []
    for invoice, collection, left, who in open_invoices(s):
        method = who.method if who else None
        kind = method.kind if method is not None else PaymentMethodKind.NONE.value
        if payment_method is not None and kind != payment_method:
            continue
        charges = charges_of(s, stored_id(invoice))
        rows.append(UnpaidInvoice(
            invoice_id=stored_id(invoice), number=invoice.number, source=names.get(invoice.connector_id, ""),
            organisation_id=who.organisation.id if who else None, organisation=who.organisation.name if who else None,
            currency=currency_of(s, invoice, who.organisation if who else None), balance=left,
            invoice_date=invoice.invoice_date, due_date=invoice.due_date, payment_method=kind, method=describe(method),
            attempts=sum(c.status in COUNTED for c in charges),
            next_retry_on=collection.next_retry_on if collection else None,
            stopped_reason=collection.stopped_reason if collection else None,
            last_status=charges[-1].status if charges else None))
    return sorted(rows, key=lambda r: (r.due_date or date.max, r.number, r.invoice_id))
