"""A customer's statement of account as of a date (:mod:`hub.documents.rules.statements`), with
the balance block of its last invoice under the mode in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from hub.collections.rules import InvoiceMode
from hub.documents.balance import BalanceBlock, account_block, block_of
from hub.documents.cycles import aged
from hub.documents.ledger import Ledger, account, customer_ledger
from hub.documents.rules.statements import EntryKind, LedgerEntry, Statement, build_statement, signed
from hub.documents.settings import get_settings
from hub.platform.models import stored_id


@dataclass(frozen=True)
class CustomerStatement:
    organisation_id: int
    customer: str
    statement: Statement
    balance: BalanceBlock | None

    def as_json(self) -> dict[str, Any]:
        return {"organisation_id": self.organisation_id, "customer": self.customer, **self.statement.as_json(),
                "balance": self.balance.as_json() if self.balance else None}


def statement_of(ledger: Ledger, as_of: date, *, mode: InvoiceMode | None = None, modes: Any = None,
                 period_start: date | None = None) -> CustomerStatement:
    """The statement of a ledger read whole (:func:`customer_ledger` with no ``since``): the
    definition :func:`statement` is checked against; documents (portal, e-mail, command line) are
    made with :func:`statement`, which reads only the period and its block's cycles."""
    org = ledger.organisation
    return CustomerStatement(stored_id(org), org.name, build_statement(ledger.entries, as_of, ledger.currency,
                                                                      period_start),
                             block_of(ledger, None, as_of, mode, modes))


def statement(s: Session, organisation_id: int, as_of: date, *, mode: InvoiceMode | str | None = None,
              period_start: date | None = None) -> CustomerStatement:
    """The customer's statement as of ``as_of``: the period from ``period_start`` (default: the
    first of the month) to ``as_of``, its opening and closing balance, aging, and the balance
    block of its last invoice (under ``mode``, default: the mode in force for that invoice).

    Only the period's entries are read row by row: the opening balance and the aging are SQL
    aggregates (:func:`hub.documents.cycles.aged`), the block reads the cycles its mode needs."""
    start = period_start or as_of.replace(day=1)
    a = account(s, organisation_id)
    ledger = customer_ledger(s, organisation_id, start, of=a)
    opening = () if not ledger.opening else (LedgerEntry(
        start - timedelta(days=1), EntryKind.INVOICE if ledger.opening > 0 else EntryKind.CREDIT,
        "(opening balance)", abs(ledger.opening)),)
    built = build_statement((*opening, *ledger.entries), as_of, ledger.currency, start,
                            aged=aged(s, a, as_of, ledger.opening + sum(
                                (signed(e) for e in ledger.entries if e.day <= as_of), Decimal(0))))
    settings = get_settings(s)
    org = ledger.organisation
    return CustomerStatement(stored_id(org), org.name, built, account_block(
        s, organisation_id, None, as_of, InvoiceMode(mode) if mode is not None else None, settings, known=(a, None)))
