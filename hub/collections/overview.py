"""Money at a glance (the home page): billed and collected this month, what is still owed by age,
declines waiting for their retry, hard declines that stopped collection.

Read-only. What each invoice still owes is the one rule of :mod:`hub.collections.receivables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from hub.collections.of_record import receivable_only
from hub.collections.receivables import may_owe, owed
from hub.collections.rules.aging import Aging, age
from hub.platform.models import Charge, Invoice, InvoiceCollection, Organisation


def _month_start(today: date) -> date:
    return today.replace(day=1)


def _add(totals: dict[str, Decimal], currency: str | None, amount: Decimal | None) -> None:
    if amount:
        key = (currency or "").upper() or "?"
        totals[key] = totals.get(key, Decimal(0)) + amount


@dataclass
class Money:
    as_of: date
    billed: dict[str, Decimal] = field(default_factory=dict)  # invoices dated this month, per currency
    collected: dict[str, Decimal] = field(default_factory=dict)  # approved charges this month
    aging: Aging = field(default_factory=Aging)
    retries_waiting: int = 0  # declined invoices with a retry date
    retries_amount: dict[str, Decimal] = field(default_factory=dict)
    hard_declines: list[dict[str, Any]] = field(default_factory=list)


def money(s: Session, today: date) -> Money:
    """The session environment's money as of ``today``."""
    out = Money(as_of=today)
    start = _month_start(today)
    billed = s.exec(receivable_only(s, select(col(Invoice.currency), func.sum(col(Invoice.total))).where(
        col(Invoice.is_deleted).is_(False), col(Invoice.invoice_date) >= start, col(Invoice.invoice_date) <= today))
        .group_by(col(Invoice.currency)))
    for currency, total in billed:
        _add(out.billed, currency, Decimal(str(total)) if total is not None else None)
    since = datetime.combine(start, time(), tzinfo=UTC)
    collected = s.exec(select(col(Charge.currency), func.sum(col(Charge.amount))).where(
        col(Charge.status) == "succeeded", col(Charge.created_at) >= since).group_by(col(Charge.currency)))
    for currency, total in collected:
        _add(out.collected, currency, Decimal(str(total)) if total is not None else None)
    rows = s.exec(receivable_only(s, may_owe(select(Invoice, InvoiceCollection, col(Organisation.currency))
                          .outerjoin(InvoiceCollection, col(InvoiceCollection.invoice_id) == col(Invoice.id))
                          .outerjoin(Organisation, (col(Organisation.connector_id) == col(Invoice.connector_id))
                                     & (col(Organisation.external_id) == col(Invoice.organisation_external_id))))))
    items = []
    for invoice, collection, org_currency in rows:
        left = owed(invoice, collection)
        if left <= 0:
            continue
        currency = ((invoice.currency or "").strip() or org_currency or "?").upper()
        items.append((invoice.due_date, currency, left))
        if collection is not None and collection.next_retry_on is not None and not collection.stopped_reason:
            out.retries_waiting += 1
            _add(out.retries_amount, currency, left)
        if collection is not None and collection.stopped_reason:
            out.hard_declines.append({"invoice_id": invoice.id, "number": invoice.number,
                                      "organisation_id": collection.organisation_id,
                                      "reason": collection.stopped_reason})
    out.aging = age(items, today)
    return out
