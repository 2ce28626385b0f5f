"""The hub's invoices as receivables: what each still owes, by the one rule of
:mod:`hub.collections.rules.owed`, and the query that finds the ones that may owe anything.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_
from sqlmodel import col

from hub.collections.rules.owed import NOT_OWED_STATUSES, InvoiceFigures, still_owed
from hub.platform.models import Invoice, InvoiceCollection


def figures(invoice: Invoice, collection: InvoiceCollection | None) -> InvoiceFigures:
    """The rule's view of a synced invoice and the hub's collection state of it."""
    return InvoiceFigures(
        total=invoice.total, amount_due=invoice.amount_due, amount_paid=invoice.amount_paid, status=invoice.status,
        collected=collection.amount_collected if collection is not None else Decimal(0),
        settled_in_hub=collection is not None and collection.paid_at is not None)


def owed(invoice: Invoice, collection: InvoiceCollection | None) -> Decimal:
    """What is still owed on ``invoice`` (exact, not rounded)."""
    return still_owed(figures(invoice, collection))


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
