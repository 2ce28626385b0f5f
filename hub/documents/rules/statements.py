"""A customer's statement of account as of a date: opening balance, the period's invoices,
payments and credits, the closing balance and the aging of what is still open.

* The period runs from ``period_start`` (default: the first day of the month of ``as_of``)
  to ``as_of``, both included; the opening balance is everything before it.
* Closing balance = opening + invoices - payments - credits (negative: the customer is in credit).
* Aging: each invoice's open amount on ``as_of`` (its total less what was applied to it by
  then; payments and credits applied to no invoice, and what an over-payment left over, pay
  the oldest invoices first), bucketed by days past its due date (its issue date when it has
  none): current (not yet due), 1-30, 31-60, 61-90, over 90. Whatever is left unapplied is the
  ``unapplied_credit``: buckets - unapplied credit = closing balance.
* The balance block of the statement is that of the last invoice issued by ``as_of``, under
  the mode in force (:func:`hub.collections.rules.invoice_statement`); same-day invoices are one
  billing cycle (:func:`cycles`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from connectors.money import round_money
from hub.collections.rules.balance_modes import AdjustmentKind, AppliedPayment, CycleInvoice
from hub.collections.rules.errors import CollectionRuleError, require_currency, require_decimal

ZERO = Decimal(0)


class EntryKind(StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT = "credit"


@dataclass(frozen=True)
class LedgerEntry:
    """One document on the customer's account; ``amount`` is positive whatever its kind.

    ``invoice_number``: the invoice a payment or credit is applied to (None: on account).
    ``due_date``: an invoice's due date.
    """

    day: date
    kind: EntryKind
    number: str
    amount: Decimal
    invoice_number: str | None = None
    due_date: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EntryKind(self.kind))
        if require_decimal(self.amount, f"{self.kind.value}.amount") < 0:
            raise CollectionRuleError(f"{self.kind.value}.amount", f"{self.number}: must not be negative")


#: the aging buckets in order: (key, label, lowest days past due, highest or None)
BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    ("current", "Current", -10**9, 0),
    ("days_1_30", "1-30", 1, 30),
    ("days_31_60", "31-60", 31, 60),
    ("days_61_90", "61-90", 61, 90),
    ("over_90", "90+", 91, None),
)


@dataclass(frozen=True)
class StatementLine:
    entry: LedgerEntry
    #: the account's balance after this line
    balance: Decimal


@dataclass(frozen=True)
class Statement:
    as_of: date
    period_start: date
    currency: str
    opening_balance: Decimal
    lines: tuple[StatementLine, ...]
    invoices: Decimal
    payments: Decimal
    credits: Decimal
    closing_balance: Decimal
    aging: dict[str, Decimal]
    unapplied_credit: Decimal

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "period_start": self.period_start.isoformat(),
            "currency": self.currency,
            "opening_balance": str(self.opening_balance),
            "lines": [{"date": line.entry.day.isoformat(), "kind": line.entry.kind.value,
                       "number": line.entry.number, "amount": str(round_money(line.entry.amount, self.currency)),
                       "applies_to": line.entry.invoice_number,
                       "due_date": line.entry.due_date.isoformat() if line.entry.due_date else None,
                       "balance": str(line.balance)} for line in self.lines],
            "invoices": str(self.invoices),
            "payments": str(self.payments),
            "credits": str(self.credits),
            "closing_balance": str(self.closing_balance),
            "aging": {key: str(value) for key, value in self.aging.items()},
            "unapplied_credit": str(self.unapplied_credit),
        }


def signed(entry: LedgerEntry) -> Decimal:
    """What the entry adds to the balance the customer owes (a payment or credit: less)."""
    return entry.amount if entry.kind == EntryKind.INVOICE else -entry.amount


def _order(entry: LedgerEntry) -> tuple[date, int, str]:
    return entry.day, 0 if entry.kind == EntryKind.INVOICE else 1, entry.number


def bucket_of(days_past_due: int) -> str:
    """The aging bucket of an amount ``days_past_due`` days past its due date."""
    for key, _, low, high in BUCKETS:
        if days_past_due >= low and (high is None or days_past_due <= high):
            return key
    raise AssertionError(days_past_due)  # the buckets cover every integer


def _aging(entries: Sequence[LedgerEntry], as_of: date, currency: str) -> tuple[dict[str, Decimal], Decimal]:
    invoices = sorted((e for e in entries if e.kind == EntryKind.INVOICE),
                      key=lambda e: (e.due_date or e.day, e.day, e.number))
    open_amount = {e.number: e.amount for e in invoices}
    pool = ZERO  # paid on account, or beyond what an invoice owed
    for e in entries:
        if e.kind == EntryKind.INVOICE:
            continue
        if e.invoice_number in open_amount:
            used = min(e.amount, open_amount[e.invoice_number])
            open_amount[e.invoice_number] -= used
            pool += e.amount - used
        else:
            pool += e.amount
    for e in invoices:  # oldest due first
        used = min(pool, open_amount[e.number])
        open_amount[e.number] -= used
        pool -= used
    aging = {key: ZERO for key, *_ in BUCKETS}
    for e in invoices:
        aging[bucket_of((as_of - (e.due_date or e.day)).days)] += open_amount[e.number]
    return {k: round_money(v, currency) for k, v in aging.items()}, round_money(pool, currency)


def build_statement(entries: Sequence[LedgerEntry], as_of: date, currency: str,
                    period_start: date | None = None, aged: Sequence[LedgerEntry] | None = None) -> Statement:
    """The statement of ``entries`` (one customer's, in ``currency``) as of ``as_of``; its aging
    is that of ``aged`` when given (the account summed up per bucket), else of ``entries``.

    Raises:
        CollectionRuleError: a period that starts after ``as_of``, a bad currency, a
        negative amount, or two invoices with one number.
    """
    currency = require_currency(currency)
    start = period_start or as_of.replace(day=1)
    if start > as_of:
        raise CollectionRuleError("period_start", f"{start} is after the statement's date {as_of}")
    numbers = [e.number for e in entries if e.kind == EntryKind.INVOICE]
    if len(numbers) != len(set(numbers)):
        twice = sorted({n for n in numbers if numbers.count(n) > 1})
        raise CollectionRuleError("invoices", f"invoice {twice[0]} is listed twice")
    known = [e for e in entries if e.day <= as_of]
    opening = sum((signed(e) for e in known if e.day < start), ZERO)
    balance = opening
    lines = []
    totals: dict[EntryKind, Decimal] = defaultdict(Decimal)
    for e in sorted((e for e in known if e.day >= start), key=_order):
        balance += signed(e)
        totals[e.kind] += e.amount
        lines.append(StatementLine(e, round_money(balance, currency)))
    aging, unapplied = _aging(known if aged is None else aged, as_of, currency)
    return Statement(
        as_of=as_of, period_start=start, currency=currency,
        opening_balance=round_money(opening, currency), lines=tuple(lines),
        invoices=round_money(totals[EntryKind.INVOICE], currency),
        payments=round_money(totals[EntryKind.PAYMENT], currency),
        credits=round_money(totals[EntryKind.CREDIT], currency),
        closing_balance=round_money(balance, currency), aging=aging, unapplied_credit=unapplied)


@dataclass(frozen=True)
class Cycles:
    """The balance rule's view of a ledger: one cycle per issue day (same-day invoices are one
    cycle, named by its first invoice), the payments and credits, and each invoice's cycle."""

    invoices: tuple[CycleInvoice, ...]
    payments: tuple[AppliedPayment, ...]
    cycle_of: dict[str, str]


def cycles(entries: Sequence[LedgerEntry]) -> Cycles:
    by_day: dict[date, list[LedgerEntry]] = defaultdict(list)
    for e in entries:
        if e.kind == EntryKind.INVOICE:
            by_day[e.day].append(e)
    invoices, cycle_of = [], {}
    for day in sorted(by_day):
        same = sorted(by_day[day], key=lambda e: e.number)
        invoices.append(CycleInvoice(same[0].number, day, sum((e.amount for e in same), ZERO)))
        cycle_of.update({e.number: same[0].number for e in same})
    payments = tuple(
        AppliedPayment(e.day, e.amount, cycle_of.get(e.invoice_number or ""),
                       AdjustmentKind.CREDIT if e.kind == EntryKind.CREDIT else AdjustmentKind.PAYMENT)
        for e in entries if e.kind != EntryKind.INVOICE and e.amount > 0)
    return Cycles(tuple(invoices), payments, cycle_of)
