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
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Numeric, and_, case, cast, func, literal, or_, outerjoin
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
    #: None: the whole account; else ``entries`` are those dated on or after it and
    #: ``opening`` is what all entries dated before it add up to (invoices less payments and credits)
    since: date | None = None
    opening: Decimal = ZERO


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


def _invoices(s: Session, sides: list[Organisation], copies: set[int], *where: Any) -> list[_InvoiceRow]:
    columns = [col(getattr(Invoice, f.name)) for f in fields(_InvoiceRow)]
    query = core_select(*columns).where(_of_customer(sides, copies), *where).order_by(col(Invoice.invoice_date),
                                                                                        col(Invoice.number))
    rows = [_InvoiceRow(*row) for row in s.execute(query)]
    return [i for i in rows if (i.status or "").strip().lower() not in NOT_ON_ACCOUNT]


def _hub_payments(s: Session, sides: list[Organisation], copies: set[int], *where: Any
                  ) -> tuple[dict[int, list[tuple[date, str, Decimal]]], dict[int, Decimal]]:
    """Per invoice id (of those ``where`` selects: the ledger's window): (business day, reference,
    amount) of each succeeded charge that paid it; and per invoice id, what its charges took beyond
    what it owed (the customer's credit, counted on the charge's own invoice). A charge split over
    several invoices is read with all its parts, so each invoice gets its own part whatever the window."""
    mine = select(Invoice.id).where(_of_customer(sides, copies), *where)
    paid: dict[int, list[tuple[date, str, Decimal]]] = defaultdict(list)
    credit: dict[int, Decimal] = defaultdict(Decimal)
    touching = and_(col(Charge.status) == "succeeded", or_(
        col(Charge.invoice_id).in_(mine),
        col(Charge.id).in_(select(ChargeAllocation.charge_id).where(col(ChargeAllocation.invoice_id).in_(mine)))))
    parts = list(s.execute(core_select(col(ChargeAllocation.charge_id), col(ChargeAllocation.invoice_id),
                                       col(ChargeAllocation.amount))
                           .where(col(ChargeAllocation.charge_id).in_(select(Charge.id).where(touching)))))
    split: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for charge_id, invoice_id, amount in parts:
        split[charge_id].append((invoice_id, amount))
    charges = s.execute(core_select(col(Charge.id), col(Charge.invoice_id), col(Charge.amount), col(Charge.charged_on),
                                    col(Charge.created_at), col(Charge.transaction_id), col(Charge.key),
                                    col(Charge.credit)).where(touching))
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


# --- the account before a date, by SQL aggregates (the same rules as the entries below) ---------
#: Money's scale: on SQLite (where Money is text) sums are taken in whole ten-thousandths, exactly
_SCALE = 10_000


def _units(s: Session, expr: Any) -> Any:
    """A Money expression as a number SQL adds exactly (SQLite: integer ten-thousandths)."""
    if s.get_bind().dialect.name == "sqlite":
        return cast(func.round(cast(expr, Numeric) * _SCALE), Integer)
    return cast(expr, Numeric)


def _amount(s: Session, value: Any) -> Decimal:
    exact = Decimal(str(value or 0))
    return exact / _SCALE if s.get_bind().dialect.name == "sqlite" else exact


def _before(day: Any, fallback: Any, since: date) -> Any:
    """An entry dated ``day`` (None: the UTC date of the ``fallback`` timestamp) falls before ``since``."""
    return or_(and_(day.is_not(None), day < since),
               and_(day.is_(None), fallback < datetime.combine(since, time(), tzinfo=UTC)))


def _on_account(s: Session, sides: list[Organisation], copies: set[int], currency: str) -> Any:
    """The customer's invoices of record that are on its account in ``currency`` (any total)."""
    code = col(Invoice.currency)
    return and_(_of_customer(sides, copies),
                func.lower(func.trim(func.coalesce(col(Invoice.status), ""))).not_in(sorted(NOT_ON_ACCOUNT)),
                or_(code.is_(None), code == "", func.upper(func.trim(code)) == currency))


def _charge_sums(s: Session, sides: list[Organisation], copies: set[int], before: date | None = None
                 ) -> tuple[Any, Any]:
    """Per invoice the hub's succeeded charges paid, grouped by ``invoice_id`` to join once (not a
    correlated sum per invoice), split charges' parts and other charges whole apart (PostgreSQL
    estimates a union's groups as 200, and joins them by nested loop): ``taken``, ``taken_before``
    (dated before ``before``; None: any day), ``credit`` (beyond what the charge's invoice owed)."""
    mine = select(Invoice.id).where(_of_customer(sides, copies))
    succeeded = col(Charge.status) == "succeeded"
    dated = _before(col(Charge.charged_on), col(Charge.created_at), before) if before else literal(True)
    part = _units(s, col(ChargeAllocation.amount))
    split = (core_select(col(ChargeAllocation.invoice_id).label("invoice_id"), func.sum(part).label("taken"),
                         func.sum(case((dated, part), else_=literal(0))).label("taken_before"),
                         literal(0).label("credit"))
             .join(Charge, col(Charge.id) == col(ChargeAllocation.charge_id))
             .where(succeeded, col(ChargeAllocation.invoice_id).in_(mine)).group_by(col(ChargeAllocation.invoice_id)))
    unsplit = col(Charge.id).not_in(select(ChargeAllocation.charge_id).where(col(ChargeAllocation.invoice_id).in_(mine)))
    whole = case((unsplit, _units(s, col(Charge.amount))), else_=literal(0))
    wholes: Any = (core_select(col(Charge.invoice_id).label("invoice_id"), func.sum(whole).label("taken"),
                          func.sum(case((dated, whole), else_=literal(0))).label("taken_before"),
                          func.sum(func.coalesce(_units(s, col(Charge.credit)), 0)).label("credit"))
              .where(succeeded, col(Charge.invoice_id).in_(mine)).group_by(col(Charge.invoice_id)))
    return split.subquery(), wholes.subquery()


def _with_sums(sums: tuple[Any, Any]) -> Any:
    """Invoices left-joined to their :func:`_charge_sums` (an invoice no charge paid has none)."""
    split, whole = sums
    return outerjoin(Invoice, split, split.c.invoice_id == col(Invoice.id)).outerjoin(whole, whole.c.invoice_id == col(Invoice.id))


def _summed(sums: tuple[Any, Any], name: str) -> Any:
    """A sum of :func:`_charge_sums` for the joined invoice (nought when no charge paid it)."""
    return sum((func.coalesce(sq.c[name], 0) for sq in sums[1:]), func.coalesce(sums[0].c[name], 0))


def _paid_beyond(s: Session, sums: tuple[Any, Any]) -> Any:
    """What the source says was paid of the joined invoice beyond what the hub's charges (of any
    day) paid of it: what they took less the over-payment kept as the customer's credit."""
    return _source_paid(s) - _summed(sums, "taken") + _summed(sums, "credit")


def _hub_paid_of(s: Session, sides: list[Organisation], copies: set[int]) -> Any:
    """What the hub's charges paid of the invoice of the enclosing query, as :func:`_paid_beyond` reads it."""
    return sum((func.coalesce(core_select(sq.c.taken - sq.c.credit).where(sq.c.invoice_id == col(Invoice.id))
                              .scalar_subquery(), 0) for sq in _charge_sums(s, sides, copies)), literal(0))


def _source_paid(s: Session) -> Any:
    """What the source says was paid of the invoice (its paid amount, else total less amount due)."""
    return case((col(Invoice.amount_paid).is_not(None), _units(s, col(Invoice.amount_paid))),
                (col(Invoice.amount_due).is_not(None),
                 _units(s, col(Invoice.total)) - _units(s, col(Invoice.amount_due))), else_=literal(0))


def _opening(s: Session, sides: list[Organisation], copies: set[int], currency: str, since: date) -> Decimal:
    """What the customer's entries dated before ``since`` add up to: invoices (a credit's negative
    total included) less the hub's charges, the source's paid remainders and the credit notes."""
    on_account = _on_account(s, sides, copies, currency)
    invoiced = s.execute(core_select(func.sum(_units(s, col(Invoice.total)))).where(
        on_account, _before(col(Invoice.invoice_date), col(Invoice.first_synced_at), since))).scalar()
    # what the hub's charges dated before ``since`` took of the invoices; and the source's paid amount
    # beyond what the hub's charges (of any day) paid, dated when the source changed it
    sums = _charge_sums(s, sides, copies, since)
    beyond = _paid_beyond(s, sums)
    changed = func.coalesce(col(Invoice.source_modified_at), col(Invoice.last_synced_at))
    remains = and_(beyond > 0, _before(col(Invoice.invoice_date), col(Invoice.first_synced_at), since),
                   changed < datetime.combine(since, time(), tzinfo=UTC))
    taken, remainder = s.execute(core_select(func.sum(_summed(sums, "taken_before")),
                                             func.sum(case((remains, beyond), else_=literal(0))))
                                 .select_from(_with_sums(sums)).where(on_account, _units(s, col(Invoice.total)) >= 0)).one()
    plans = select(SubscriptionPlan.id).where(col(SubscriptionPlan.organisation_id).in_([stored_id(o) for o in sides]))
    code = col(SubscriptionAction.currency)
    credited = s.execute(core_select(func.sum(func.abs(_units(s, col(SubscriptionAction.net_amount))))).where(
        col(SubscriptionAction.credit_note).is_(True), col(SubscriptionAction.status) == POSTED,
        col(SubscriptionAction.plan_id).in_(plans), or_(code.is_(None), code == "", func.upper(code) == currency),
        _before(col(SubscriptionAction.posting_date), col(SubscriptionAction.action_date), since))).scalar()
    return _amount(s, invoiced) - _amount(s, taken) - _amount(s, remainder) - _amount(s, credited)


def _issued_between(s: Session, since: date, until: tuple[date, date] | None) -> Any:
    """Invoices issued on or after ``since`` and, with ``until`` (last, as_of), credits (a negative
    total) and invoices issued by ``last`` or after ``as_of``."""
    issued = ~_before(col(Invoice.invoice_date), col(Invoice.first_synced_at), since)
    if until is None:
        return issued
    last, as_of = until
    day = (col(Invoice.invoice_date), col(Invoice.first_synced_at))
    return and_(issued, or_(_units(s, col(Invoice.total)) < 0, _before(*day, last + timedelta(days=1)),
                            ~_before(*day, as_of + timedelta(days=1))))


def _touched_since(s: Session, sides: list[Organisation], copies: set[int], since: date) -> Any:
    """The invoices that may have an entry dated on or after ``since``: issued then, changed by the
    source then with a paid remainder (that remainder's day; an open invoice synced today has none),
    or paid by a hub charge of then."""
    midnight = datetime.combine(since, time(), tzinfo=UTC)
    charged = ~_before(col(Charge.charged_on), col(Charge.created_at), since) & (col(Charge.status) == "succeeded")
    return or_(~_before(col(Invoice.invoice_date), col(Invoice.first_synced_at), since),
               and_(func.coalesce(col(Invoice.source_modified_at), col(Invoice.last_synced_at)) >= midnight,
                    _source_paid(s) - _hub_paid_of(s, sides, copies) > 0),
               col(Invoice.id).in_(select(Charge.invoice_id).where(charged)),
               col(Invoice.id).in_(select(ChargeAllocation.invoice_id)
                                   .join(Charge, col(Charge.id) == col(ChargeAllocation.charge_id)).where(charged)))


def customer_ledger(s: Session, organisation_id: int, since: date | None = None, *,
                    issued_since: bool = False, issued_until: tuple[date, date] | None = None,
                    of: Account | None = None) -> Ledger:
    """The customer's account: invoices, payments and credits of both its sides; with ``since``,
    only the entries dated on or after it and, as ``opening``, the sum of those before it (SQL
    aggregates: the rows before ``since`` are not read). ``issued_since``: only the invoices issued
    since then are read, with their payments of then on (and the credit notes), no opening; and
    with ``issued_until`` (last, as_of), of those only the ones issued by ``last`` or after ``as_of``.
    ``of``: the customer's :func:`account` when the caller has read it (with ``since``)."""
    window: tuple[Any, ...] = ()
    if since is not None and of is not None and stored_id(of.organisation) == organisation_id:
        org, sides, copies, currency = of.organisation, of.sides, of.copies, of.currency
        window = (_issued_between(s, since, issued_until) if issued_since else _touched_since(s, sides, copies, since),)
        invoices = _invoices(s, sides, copies, *window)
    else:
        found = s.get(Organisation, organisation_id)
        if found is None or found.is_deleted:
            raise CustomerNotFound(f"customer: no organisation {organisation_id} in {s.info['environment']}")
        org, sides = found, _sides(s, found)
        copies = copy_connector_ids(s)
        if since is None:
            invoices = _invoices(s, sides, copies)
            currencies = Counter((i.currency or "").strip().upper() for i in invoices if (i.currency or "").strip())
        else:
            window = (_issued_between(s, since, issued_until) if issued_since
                      else _touched_since(s, sides, copies, since),)
            invoices = _invoices(s, sides, copies, *window)
        currency = (org.currency or "").strip().upper()
        if not currency:
            if since is not None:
                currencies = _currencies(s, sides, copies)
            currency = currencies.most_common(1)[0][0] if currencies else "USD"
    invoices = [i for i in invoices if (i.currency or currency).strip().upper() == currency]
    hub_paid, hub_credit = _hub_payments(s, sides, copies, *window)  # the window's invoices' charges only
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
    if since is None:
        return Ledger(org, currency, tuple(entries), numbers)
    return Ledger(org, currency, tuple(e for e in entries if e.day >= since), numbers, since,
                  ZERO if issued_since else _opening(s, sides, copies, currency, since))


def _currencies(s: Session, sides: list[Organisation], copies: set[int]) -> Counter[str]:
    """How many invoices on the account each currency has, in the order they first appear."""
    code = func.upper(func.trim(col(Invoice.currency)))
    status = func.lower(func.trim(func.coalesce(col(Invoice.status), "")))
    rows = s.execute(core_select(code, func.count(), func.min(col(Invoice.invoice_date))).where(
        _of_customer(sides, copies), status.not_in(sorted(NOT_ON_ACCOUNT)), code != "").group_by(code)
        .order_by(func.min(col(Invoice.invoice_date))))
    return Counter({str(c): int(n) for c, n, _ in rows})


# --- what the balance block needs to know of the account, without reading it whole ---------------


@dataclass(frozen=True)
class Account:
    """A customer's account as SQL reads it: both sides, the copies left out, its currency."""

    organisation: Organisation
    sides: list[Organisation]
    copies: set[int]
    currency: str


def account(s: Session, organisation_id: int) -> Account:
    org = s.get(Organisation, organisation_id)
    if org is None or org.is_deleted:
        raise CustomerNotFound(f"customer: no organisation {organisation_id} in {s.info['environment']}")
    sides, copies = _sides(s, org), copy_connector_ids(s)
    currency = (org.currency or "").strip().upper()
    if not currency:  # the account's most used currency (a scan of its invoices: only when the customer has none)
        currencies = _currencies(s, sides, copies)
        currency = currencies.most_common(1)[0][0] if currencies else "USD"
    return Account(org, sides, copies, currency)
