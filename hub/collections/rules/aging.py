"""Receivables by age: what is owed, not yet due and overdue in buckets of days past due.

Pure: (due date, currency, amount still owed) in, totals per currency and bucket out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

#: the overdue buckets, by days past the due date: (label, first day, last day or None)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (("0-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90),
                                                    ("90+", 91, None))
NOT_DUE = "not due"


def bucket(due: date | None, today: date) -> str:
    """The bucket of an invoice due on ``due``: ``"not due"`` until the day after it (an invoice
    without a due date is never overdue), then one of :data:`BUCKETS`."""
    days = (today - due).days if due is not None else 0
    for label, first, last in BUCKETS:
        if days >= first and (last is None or days <= last):
            return label
    return NOT_DUE


@dataclass
class Aging:
    """Per currency: everything still owed (``open``) and the overdue part per bucket."""

    open: dict[str, Decimal] = field(default_factory=dict)
    overdue: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # bucket -> currency -> amount
    overdue_invoices: dict[str, int] = field(default_factory=dict)  # bucket -> how many invoices

    def add(self, due: date | None, currency: str, owed: Decimal, today: date) -> None:
        if owed <= 0:
            return
        self.open[currency] = self.open.get(currency, Decimal(0)) + owed
        label = bucket(due, today)
        if label != NOT_DUE:
            per = self.overdue.setdefault(label, {})
            per[currency] = per.get(currency, Decimal(0)) + owed
            self.overdue_invoices[label] = self.overdue_invoices.get(label, 0) + 1


def age(items: Iterable[tuple[date | None, str, Decimal]], today: date) -> Aging:
    """Receivables ``(due date, currency, still owed)`` by age as of ``today``."""
    result = Aging()
    for due, currency, owed in items:
        result.add(due, currency, owed, today)
    return result
