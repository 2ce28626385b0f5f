"""One customer's account as the statement and the balance block read it: its invoices (both
sides: the PSA organisation and the linked ERP customer), its payments and its credits.

* Invoices: every synced invoice of either side that is a document the customer owes on (not a
  draft, in review, cancelled or voided one), of the receivable of record (another system's copy
  of it is left out: :mod:`hub.collections.of_record`); one with a negative total is a credit.
* Payments: what the hub's gateway took (each succeeded charge, or its part of an invoice, on its
  business day); and what the source says was paid beyond that (its paid amount less what the hub's
  charges paid of the invoice: a charge's over-payment, kept as the customer's credit, paid none of
  it), dated when the source last changed the invoice. An over-payment thus stays on the account as
  the customer's credit even after the source shows the invoice paid in full.
* Credits: the posted credit notes of the customer's plans (their ERP credit memos).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from hub.collections.of_record import copy_connector_ids
from hub.documents.rules.statements import EntryKind, LedgerEntry
from hub.platform.errors import InputError
from hub.platform.models import (
    Charge,
    ChargeAllocation,
    Invoice,
    Organisation,
    SubscriptionAction,
    SubscriptionPlan,
    stored_id,
)
from hub.sync.customers import customer_sides

ZERO = Decimal(0)
#: invoice statuses (lower case) that are no document the customer owes on
NOT_ON_ACCOUNT = frozenset({"draft", "in review", "canceled", "cancelled", "void", "voided"})
POSTED = "Posted"


class CustomerNotFound(InputError):
    status = 404


@dataclass(frozen=True)
class Ledger:
    """The customer (the organisation asked for), its currency and its account's entries."""

    organisation: Organisation
    currency: str
    entries: tuple[LedgerEntry, ...]
    #: the hub invoice ids by number
    invoices: dict[str, int]


def find_customer(s: Session, ref: str | int) -> Organisation:
    """An organisation by id, code or exact name (case-insensitive).

    Raises:
        CustomerNotFound: none, or a name that several organisations share.
    """
    text = str(ref).strip()
    if text.isdigit():
        org = s.get(Organisation, int(text))
        if org is not None and not org.is_deleted:
            return org
    found = list(s.exec(select(Organisation).where(
        col(Organisation.is_deleted).is_(False),
        or_(col(Organisation.code) == text, col(Organisation.name).ilike(text)))))
    if len(found) == 1:
        return found[0]
    if found:
        raise CustomerNotFound(f"customer: {len(found)} organisations are called {text!r}; give its id")
    raise CustomerNotFound(f"customer: no organisation {text!r} in {s.info['environment']}")


def _sides(s: Session, org: Organisation) -> list[Organisation]:
    sides = customer_sides(s, stored_id(org))
    return [o for o in (sides.psa, sides.erp) if o is not None] or [org]


def _of_customer(sides: list[Organisation], copies: set[int]) -> Any:
    """The condition on :class:`Invoice` that keeps the customer's invoices of record (either side;
    never the copies another system holds of them)."""
    return and_(col(Invoice.is_deleted).is_(False), col(Invoice.connector_id).not_in(sorted(copies) or [-1]), or_(*(
        and_(col(Invoice.connector_id) == o.connector_id, col(Invoice.organisation_external_id) == o.external_id)
        for o in sides)))


@dataclass(frozen=True)
class _InvoiceRow:
    """The columns of an invoice the ledger reads (not the whole row: its raw payload stays)."""

    id: int
    number: str
    status: str | None
    invoice_date: date | None
    due_date: date | None
    currency: str | None
    total: Decimal
    amount_due: Decimal | None
    amount_paid: Decimal | None
    source_modified_at: datetime | None
    first_synced_at: datetime
    last_synced_at: datetime


def _invoices(s: Session, sides: list[Organisation], copies: set[int]) -> list[_InvoiceRow]:
    columns = [col(getattr(Invoice, f.name)) for f in fields(_InvoiceRow)]
    query = core_select(*columns).where(_of_customer(sides, copies)).order_by(col(Invoice.invoice_date), col(Invoice.number))
    rows = [_InvoiceRow(*row) for row in s.execute(query)]
    return [i for i in rows if (i.status or "").strip().lower() not in NOT_ON_ACCOUNT]


def _hub_payments(s: Session, sides: list[Organisation], copies: set[int]
                  ) -> tuple[dict[int, list[tuple[date, str, Decimal]]], dict[int, Decimal]]:
    """Per invoice id: (business day, reference, amount) of each succeeded charge that paid it; and
    per invoice id, what its charges took beyond what it owed (the customer's credit, counted on the
    charge's own invoice)."""
    mine = select(Invoice.id).where(_of_customer(sides, copies))
    paid: dict[int, list[tuple[date, str, Decimal]]] = defaultdict(list)
    credit: dict[int, Decimal] = defaultdict(Decimal)
    parts = list(s.execute(core_select(col(ChargeAllocation.charge_id), col(ChargeAllocation.invoice_id),
                                       col(ChargeAllocation.amount))
                           .where(col(ChargeAllocation.invoice_id).in_(mine))))
    split: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for charge_id, invoice_id, amount in parts:
        split[charge_id].append((invoice_id, amount))
    charges = s.execute(core_select(col(Charge.id), col(Charge.invoice_id), col(Charge.amount), col(Charge.charged_on),
                                    col(Charge.created_at), col(Charge.transaction_id), col(Charge.key),
                                    col(Charge.credit))
                     .where(col(Charge.status) == "succeeded", or_(
                         col(Charge.invoice_id).in_(mine),
                         col(Charge.id).in_(select(ChargeAllocation.charge_id)
                                            .where(col(ChargeAllocation.invoice_id).in_(mine))))))
    for charge_id, invoice_id, amount, charged_on, created_at, transaction_id, key, surplus in charges:
        day = charged_on or created_at.date()
        for target, part in split.get(charge_id) or [(invoice_id, amount)]:
            paid[target].append((day, transaction_id or key, part))
        if surplus:
            credit[invoice_id] += surplus
    return paid, credit


def _credit_notes(s: Session, sides: list[Organisation]) -> list[SubscriptionAction]:
    plans = select(SubscriptionPlan.id).where(col(SubscriptionPlan.organisation_id).in_([stored_id(o) for o in sides]))
    return list(s.exec(select(SubscriptionAction).where(
        col(SubscriptionAction.credit_note).is_(True), col(SubscriptionAction.status) == POSTED,
        col(SubscriptionAction.plan_id).in_(plans))))


def customer_ledger(s: Session, organisation_id: int) -> Ledger:
    """The customer's account: invoices, payments and credits of both its sides."""
    org = s.get(Organisation, organisation_id)
    if org is None or org.is_deleted:
        raise CustomerNotFound(f"customer: no organisation {organisation_id} in {s.info['environment']}")
    sides = _sides(s, org)
    copies = copy_connector_ids(s)
    invoices = _invoices(s, sides, copies)
    currencies = Counter((i.currency or "").strip().upper() for i in invoices if (i.currency or "").strip())
    currency = (org.currency or "").strip().upper() or (currencies.most_common(1)[0][0] if currencies else "USD")
    invoices = [i for i in invoices if (i.currency or currency).strip().upper() == currency]
    hub_paid, hub_credit = _hub_payments(s, sides, copies)
    entries: list[LedgerEntry] = []
    for inv in invoices:
        day = inv.invoice_date or inv.first_synced_at.date()
        if inv.total < 0:
            entries.append(LedgerEntry(day, EntryKind.CREDIT, inv.number, -inv.total))
            continue
        entries.append(LedgerEntry(day, EntryKind.INVOICE, inv.number, inv.total, due_date=inv.due_date))
        taken = ZERO
        for paid_on, reference, amount in hub_paid.get(inv.id, []):
            taken += amount
            entries.append(LedgerEntry(paid_on, EntryKind.PAYMENT, reference, amount, invoice_number=inv.number))
        if inv.amount_paid is not None:
            source_paid = inv.amount_paid
        elif inv.amount_due is not None:
            source_paid = inv.total - inv.amount_due
        else:
            source_paid = ZERO
        taken -= hub_credit.get(inv.id, ZERO)  # what the hub's charges paid of this invoice
        if source_paid - taken > 0:
            when = inv.source_modified_at or inv.last_synced_at
            entries.append(LedgerEntry(max(when.date(), day), EntryKind.PAYMENT, f"{inv.number}/paid",
                                       source_paid - taken, invoice_number=inv.number))
    numbers = {i.number: i.id for i in invoices}
    for action in _credit_notes(s, sides):
        amount = abs(action.net_amount or ZERO)
        if amount and (action.currency or currency).upper() == currency:
            entries.append(LedgerEntry(action.posting_date or action.action_date, EntryKind.CREDIT,
                                       action.credit_memo_number or action.key, amount))
    return Ledger(org, currency, tuple(entries), numbers)
