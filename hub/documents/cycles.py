"""A customer account's cycles read by SQL: its issue days, the first day it was over-paid, the aging of what it
owes (:mod:`hub.documents.ledger` reads the entries)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, distinct, func, literal, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from hub.documents.ledger import (
    POSTED,
    ZERO,
    Account,
    _amount,
    _before,
    _charge_sums,
    _on_account,
    _opening,
    _paid_beyond,
    _source_paid,
    _summed,
    _units,
    _with_sums,
)
from hub.documents.rules.statements import BUCKETS, EntryKind, LedgerEntry
from hub.platform.models import (
    Charge,
    ChargeAllocation,
    Invoice,
    SubscriptionAction,
    SubscriptionPlan,
    stored_id,
)


def _debits(s: Session, a: Account) -> Any:
    return and_(_on_account(s, a.sides, a.copies, a.currency), _units(s, col(Invoice.total)) >= 0)


def _days(s: Session, where: Any, *, latest: bool = False, limit: int | None = None) -> list[date]:
    """The days (issue date, else the UTC day first synced) of the invoices ``where`` selects."""
    dated = core_select(distinct(col(Invoice.invoice_date))).where(where, col(Invoice.invoice_date).is_not(None))
    dated = dated.order_by(col(Invoice.invoice_date).desc() if latest else col(Invoice.invoice_date))
    undated = core_select(col(Invoice.first_synced_at)).where(where, col(Invoice.invoice_date).is_(None))
    days = {*s.execute(dated.limit(limit) if limit else dated).scalars(),
            *(when.date() for when in s.execute(undated).scalars())}
    return sorted(days, reverse=latest)[:limit] if limit else sorted(days, reverse=latest)


def issue_days(s: Session, a: Account, until: date, count: int) -> list[date]:
    """The last ``count`` days on or before ``until`` the customer was invoiced (its billing
    cycles), latest first."""
    return _days(s, and_(_debits(s, a), _before(col(Invoice.invoice_date), col(Invoice.first_synced_at),
                                                 until + timedelta(days=1))), latest=True, limit=count)


def next_issue_day(s: Session, a: Account, after: date, until: date) -> date | None:
    """The first day after ``after`` and by ``until`` the customer was invoiced."""
    found = _days(s, and_(_debits(s, a), ~_before(col(Invoice.invoice_date), col(Invoice.first_synced_at),
                                                   after + timedelta(days=1)),
                          _before(col(Invoice.invoice_date), col(Invoice.first_synced_at), until + timedelta(days=1))),
                  limit=1)
    return found[0] if found else None


def invoice_day(s: Session, a: Account, number: str) -> date | None:
    """The day invoice ``number`` went on the customer's account (None: it is on no account)."""
    found = _days(s, and_(_debits(s, a), col(Invoice.number) == number))
    return found[0] if found else None


def first_excess_day(s: Session, a: Account, as_of: date) -> date | None:
    """The first day by ``as_of`` the account may have received more than a billing cycle asked
    for: a credit (a credit note, a negative invoice), an invoice paid beyond its total (its issue
    day), or a hub charge on an invoice not yet issued on ``as_of``. None: never; then no cycle
    by ``as_of`` left a credit over for the next one."""
    by = as_of + timedelta(days=1)
    on_account = _on_account(s, a.sides, a.copies, a.currency)
    issued = _before(col(Invoice.invoice_date), col(Invoice.first_synced_at), by)
    total = _units(s, col(Invoice.total))
    sums = _charge_sums(s, a.sides, a.copies)
    # the first credit (a negative total) or over-paid invoice, in one scan of the account joined once to
    # its charges' sums (a min, not the first row in date order: PostgreSQL would then loop over the join)
    over = and_(on_account, issued, or_(total < 0, and_(total >= 0, or_(
        _source_paid(s) + _summed(sums, "credit") > total, _summed(sums, "taken") > total))))
    undated = case((col(Invoice.invoice_date).is_(None), col(Invoice.first_synced_at)))
    day, synced = s.execute(core_select(func.min(col(Invoice.invoice_date)), func.min(undated))
                            .select_from(_with_sums(sums)).where(over)).one()
    days = [d for d in (day, synced.date() if synced else None) if d]
    plans = select(SubscriptionPlan.id).where(col(SubscriptionPlan.organisation_id).in_([stored_id(o) for o in a.sides]))
    code = col(SubscriptionAction.currency)
    noted = func.coalesce(col(SubscriptionAction.posting_date), col(SubscriptionAction.action_date))
    days += [d for d in s.execute(core_select(func.min(noted)).where(
        col(SubscriptionAction.credit_note).is_(True), col(SubscriptionAction.status) == POSTED,
        col(SubscriptionAction.plan_id).in_(plans), _units(s, col(SubscriptionAction.net_amount)) != 0,
        or_(code.is_(None), code == "", func.upper(code) == a.currency), noted <= as_of)).scalars() if d]
    # a charge dated before the invoice it pays (or not yet issued): the account's until then
    early = or_(col(Charge.charged_on).is_(None), col(Invoice.invoice_date).is_(None),
                col(Charge.charged_on) < col(Invoice.invoice_date))
    charged = and_(col(Charge.status) == "succeeded", _before(col(Charge.charged_on), col(Charge.created_at), by),
                   _debits(s, a), early)
    firsts = [core_select(func.min(col(Charge.charged_on)), func.min(col(Charge.created_at)))
              .join(Invoice, col(Invoice.id) == col(Charge.invoice_id)).where(charged),
              core_select(func.min(col(Charge.charged_on)), func.min(col(Charge.created_at)))
              .join(ChargeAllocation, col(ChargeAllocation.charge_id) == col(Charge.id))
              .join(Invoice, col(Invoice.id) == col(ChargeAllocation.invoice_id)).where(charged)]
    for query in firsts:
        for charged_on, created_at in s.execute(query):
            days += [d for d in (charged_on, created_at.date() if created_at else None) if d]
    return min(days, default=None)


def _aged_by(day: date) -> Any:
    """The invoice's aging day (its due date, else its issue day) is on or before ``day``."""
    due, issued = col(Invoice.due_date), col(Invoice.invoice_date)
    return or_(and_(due.is_not(None), due <= day), and_(due.is_(None), issued.is_not(None), issued <= day),
               and_(due.is_(None), issued.is_(None),
                    col(Invoice.first_synced_at) < datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)))


def aged(s: Session, a: Account, as_of: date, balance: Decimal | None = None) -> list[LedgerEntry]:
    """The account on ``as_of`` as the aging reads it, in a few entries: per aging bucket, one
    invoice of what the bucket's invoices still owe after what was applied to each, due on a day
    of that bucket; and one credit of what was paid or credited beyond them (what is owed less
    the balance: the payments on account and the over-payments, which pay the oldest first).
    ``balance``: what the account owes on ``as_of`` when the caller has it (else SQL sums it)."""
    by = as_of + timedelta(days=1)
    issued = _before(col(Invoice.invoice_date), col(Invoice.first_synced_at), by)
    sums = _charge_sums(s, a.sides, a.copies, by)
    beyond = _paid_beyond(s, sums)
    changed = func.coalesce(col(Invoice.source_modified_at), col(Invoice.last_synced_at))
    paid = _summed(sums, "taken_before") + case(
        (and_(beyond > 0, changed < datetime.combine(by, time(), tzinfo=UTC)), beyond), else_=literal(0))
    owed = _units(s, col(Invoice.total)) - paid
    limits = [(key, as_of - timedelta(days=low)) for key, _, low, _ in reversed(BUCKETS) if low > 0]
    bucket = case(*[(_aged_by(day), literal(key)) for key, day in limits], else_=literal(BUCKETS[0][0]))
    rows = s.execute(core_select(bucket, func.sum(case((owed > 0, owed), else_=literal(0))))
                     .select_from(_with_sums(sums)).where(_debits(s, a), issued).group_by(bucket))
    due_on = dict(limits)
    entries = [LedgerEntry(min(as_of, due_on.get(key, as_of)), EntryKind.INVOICE, f"({key})", _amount(s, amount),
                           due_date=due_on.get(key, as_of)) for key, amount in rows if _amount(s, amount) > 0]
    owes = _opening(s, a.sides, a.copies, a.currency, by) if balance is None else balance
    pool = sum((e.amount for e in entries), ZERO) - owes
    return entries + ([LedgerEntry(as_of, EntryKind.CREDIT, "(paid beyond)", pool)] if pool > 0 else [])
