"""The hub's invoices as receivables: what each still owes, by the one rule of
:mod:`hub.collections.rules.owed`, and the query that finds the ones that may owe anything.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_
from sqlmodel import col

from hub.collections.rules.owed import NOT_OWED_STATUSES, InvoiceFigures, PaymentEffect, payment_effect, still_owed
from hub.platform.models import Invoice, InvoiceCollection
from hub.platform.types import utcnow

#: the status the hub writes on an invoice it collected in full (the source's own word follows on sync)
PAID = "Paid"
#: the status the hub writes on an invoice that owes again (a returned payment, money paid back)
OPEN = "Open"


def figures(invoice: Invoice, collection: InvoiceCollection | None) -> InvoiceFigures:
    """The rule's view of a synced invoice and the hub's collection state of it."""
    if collection is None:
        return InvoiceFigures(total=invoice.total, amount_due=invoice.amount_due, amount_paid=invoice.amount_paid,
                              status=invoice.status)
    return InvoiceFigures(
        total=invoice.total, amount_due=invoice.amount_due, amount_paid=invoice.amount_paid, status=invoice.status,
        collected=collection.amount_collected - collection.amount_posted,
        settled_in_hub=collection.paid_at is not None,
        figures_include_collected=collection.figures_hash is not None
        and collection.figures_hash == invoice.content_hash)


def owed(invoice: Invoice, collection: InvoiceCollection | None) -> Decimal:
    """What is still owed on ``invoice`` (exact, not rounded)."""
    return still_owed(figures(invoice, collection))


def take_payment(invoice: Invoice, collection: InvoiceCollection, amount: Decimal) -> PaymentEffect:
    """Count a payment the gateway took on the invoice, in the caller's transaction: the hub's
    invoice shows what is still owed (and Paid at nothing) at once, not after the next sync."""
    effect = payment_effect(owed(invoice, collection), amount)
    collection.amount_collected += amount
    _write_figures(invoice, collection, effect.still_owed, PAID if effect.settles else invoice.status)
    invoice.amount_paid = (invoice.amount_paid or Decimal(0)) + effect.applied
    if effect.settles:
        collection.paid_at = utcnow()
    return effect


def give_back(invoice: Invoice, collection: InvoiceCollection, amount: Decimal, *, posted: bool) -> Decimal:
    """Undo a payment the gateway took and the bank returned (an ACH return), in the caller's
    transaction: the invoice owes again what the payment paid of it (a surplus that was the
    customer's credit goes with it). ``posted``: the source had posted the payment. Returns what
    the invoice owes again."""
    before = owed(invoice, collection)
    collection.amount_collected -= amount
    if posted:
        collection.amount_posted -= amount
    paid = invoice.amount_paid or Decimal(0)
    reopened = min(amount, paid)
    invoice.amount_paid = paid - reopened
    collection.paid_at = None
    _write_figures(invoice, collection, before + reopened, OPEN)
    return reopened


def confirm_posted(invoice: Invoice, collection: InvoiceCollection, amount: Decimal, remaining: Decimal,
                   status: str) -> None:
    """The source posted ``amount`` of the hub's collections and now shows ``remaining`` due in
    ``status``: the hub's invoice takes the source's figures, less what it still has to post."""
    collection.amount_posted += amount
    unposted = max(collection.amount_collected - collection.amount_posted, Decimal(0))
    _write_figures(invoice, collection, max(remaining - unposted, Decimal(0)), PAID if remaining <= unposted
                   else status)


def reopen(invoice: Invoice, collection: InvoiceCollection, amount: Decimal) -> Decimal:
    """Money the hub collected on the invoice went back (refunded, charged back), in the caller's
    transaction: the invoice owes ``amount`` more at once, and is open again. What it owes now."""
    due = owed(invoice, collection) + amount
    collection.paid_at = None
    invoice.amount_paid = max((invoice.amount_paid or Decimal(0)) - amount, Decimal(0))
    _write_figures(invoice, collection, due, OPEN)
    return due


def _write_figures(invoice: Invoice, collection: InvoiceCollection, due: Decimal, status: str | None) -> None:
    invoice.amount_due, invoice.status = due, status
    collection.figures_hash = invoice.content_hash
    collection.updated_at = utcnow()


_Query = TypeVar("_Query", bound=Select[Any])


def may_owe(query: _Query) -> _Query:
    """``query`` (over :class:`Invoice`) narrowed to invoices that may still owe something: not
    deleted, not in a status that is never owed, with an amount due that is positive or
    unknown. The rule itself (:func:`owed`) decides for each row that is left."""
    status = func.lower(func.trim(func.coalesce(col(Invoice.status), "")))
    return query.where(
        col(Invoice.is_deleted).is_(False),
        status.not_in(sorted(NOT_OWED_STATUSES)),
        or_(col(Invoice.amount_due).is_(None), col(Invoice.amount_due) > 0),
    )
