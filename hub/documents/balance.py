"""The balance block (seed 001) of an invoice or of a period: Previous Balance,
Payments/Adjustments, Current Charges, Amount Due — computed by the one rule,
:func:`hub.collections.rules.invoice_statement`, under the mode in force for the invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from hub.collections.rules import STATEMENT_ROWS, InvoiceMode, InvoiceStatement, invoice_statement
from hub.collections.rules.balance_modes import AdjustmentKind, AppliedPayment, CycleInvoice
from hub.documents.cycles import first_excess_day, invoice_day, issue_days, next_issue_day
from hub.documents.ledger import Account, Ledger, account, customer_ledger
from hub.documents.rules.statements import Cycles, EntryKind, LedgerEntry, cycles
from hub.documents.settings import DocumentSettingsError, get_settings


@dataclass(frozen=True)
class BalanceBlock:
    """The four rows of one invoice (``invoice_number``) on ``as_of``, in ``currency``."""

    invoice_number: str
    as_of: date
    currency: str
    mode: InvoiceMode
    previous_balance: Decimal
    payments_adjustments: Decimal
    current_charges: Decimal
    amount_due: Decimal
    credit_balance: Decimal

    @property
    def rows(self) -> list[tuple[str, Decimal]]:
        """(label, amount) in the seed's order."""
        return [(label, getattr(self, attr)) for label, attr in STATEMENT_ROWS]

    def as_json(self) -> dict[str, Any]:
        return {"invoice_number": self.invoice_number, "as_of": self.as_of.isoformat(), "currency": self.currency,
                "mode": self.mode.value,
                **{attr: str(getattr(self, attr)) for _, attr in STATEMENT_ROWS},
                "credit_balance": str(self.credit_balance)}


def _collapsed(ledger: Ledger, known: list[LedgerEntry], plan: Cycles, mode: InvoiceMode, number: str) -> Cycles:
    """The cycles and payments of a ledger read from ``ledger.since`` (its entries by ``as_of``:
    ``known``, their cycles: ``plan``) that give the rule the block of cycle ``number`` the whole
    account gives it (the window is chosen by :func:`_since`):

    * static: the cycle alone counts;
    * batch: a cycle's amount due less its credit left over is the running balance (everything
      invoiced by then less everything paid or credited before its next cycle): the window's first
      cycle stands for the account up to it, its charges being the opening balance plus its own;
    * dynamic: no cycle before the window left a credit over, so the window starts afresh; the
      payments of invoices issued before it count on those, not in the window.
    """
    if ledger.since is None:
        return plan
    if mode == InvoiceMode.DYNAMIC:
        issued = {e.number for e in ledger.entries if e.kind == EntryKind.INVOICE}
        return cycles([e for e in known if e.invoice_number is None or e.invoice_number in issued])
    if mode == InvoiceMode.BATCH and plan.invoices[0].number != number:
        first = plan.invoices[0]
        due = ledger.opening + first.current_charges
        opening = CycleInvoice(first.number, first.issue_date, max(due, Decimal(0)))
        credit = (AppliedPayment(first.issue_date, -due, None, AdjustmentKind.CREDIT),) if due < 0 else ()
        return Cycles((opening, *plan.invoices[1:]), credit + plan.payments, plan.cycle_of)
    return plan


def block_of(ledger: Ledger, number: str | None, as_of: date, mode: InvoiceMode | None,
             modes: Any = None) -> BalanceBlock | None:
    """The block of invoice ``number`` (None: the last invoice issued by ``as_of``) of ``ledger``;
    None when the customer has no invoice by then. ``mode`` None: the mode ``modes`` (the
    document settings) give the invoice's issue day. A ledger read from a day on (``since``)
    must start where :func:`_since` says for that mode."""
    known = [e for e in ledger.entries if e.day <= as_of]
    plan = cycles(known)
    if not plan.invoices:
        return None
    if number is None:
        cycle = plan.invoices[-1]
    else:
        label = plan.cycle_of.get(number)
        if label is None:
            raise DocumentSettingsError(f"invoice: {number} is not an invoice of {ledger.organisation.name} "
                                        f"issued by {as_of}")
        cycle = next(c for c in plan.invoices if c.number == label)
    chosen = InvoiceMode(mode) if mode is not None else (modes.mode_for(cycle.issue_date) if modes else
                                                         InvoiceMode.DYNAMIC)
    plan = _collapsed(ledger, known, plan, chosen, cycle.number)
    result: InvoiceStatement = invoice_statement(chosen, plan.invoices, plan.payments, cycle.number, as_of,
                                                 ledger.currency)
    shown = number or next(e.number for e in known if e.kind == EntryKind.INVOICE and e.day == cycle.issue_date)
    return BalanceBlock(shown, as_of, ledger.currency, chosen, result.previous_balance, result.payments_adjustments,
                        result.current_charges, result.amount_due, result.credit_balance)


def _since(s: Session, a: Account, number: str | None, as_of: date, mode: InvoiceMode | None,
           modes: Any, day: date | None = None) -> tuple[date | None, date | None, InvoiceMode | None]:
    """The first day of the account the block of ``number`` (None: the last invoice by ``as_of``)
    needs read row by row (None: all of it), the block's cycle's issue day and the block's mode.
    ``day``: the invoice's day on the account when the caller has read it (:func:`invoice_day`)."""
    if day is None:
        day = invoice_day(s, a, number) if number is not None else next(iter(issue_days(s, a, as_of, 1)), None)
    if day is None or day > as_of:
        return None, None, None  # no block, or an error: the whole ledger says which
    chosen = InvoiceMode(mode) if mode is not None else (modes.mode_for(day) if modes else InvoiceMode.DYNAMIC)
    if chosen == InvoiceMode.STATIC:
        return day, day, chosen
    if chosen == InvoiceMode.BATCH:
        # the previous cycle stands for the account up to it, unless it is the first one (payments
        # before the first invoice count in the first cycle's batch, not in its amount due)
        days = issue_days(s, a, day, 3)
        return (days[1] if len(days) == 3 else day if len(days) == 1 else None), day, chosen
    excess = first_excess_day(s, a, as_of)
    if excess is None or excess >= day:
        return day, day, chosen
    earlier = issue_days(s, a, excess, 1)
    return (earlier[0] if earlier else None), day, chosen


def account_block(s: Session, organisation_id: int, number: str | None, as_of: date, mode: InvoiceMode | None,
                  modes: Any, *, known: tuple[Account, date | None] | None = None) -> BalanceBlock | None:
    """:func:`block_of` the customer's account, reading only the cycles the mode needs (batch: the
    payments of the window whatever invoice they pay; static and dynamic: the window's invoices).
    ``known``: the customer's :func:`account` and the invoice's :func:`invoice_day` when the caller
    has read them (each is a query over the whole account: read once a page)."""
    a, day = known or (account(s, organisation_id), None)
    since, day, chosen = _since(s, a, number, as_of, mode, modes, day)
    until = None
    if since is not None and day is not None and chosen != InvoiceMode.BATCH:
        # the cycles after the block's change nothing on it; the next one's issue day bounds its payments
        until = (next_issue_day(s, a, day, as_of) or day, as_of)
    ledger = customer_ledger(s, organisation_id, since, issued_since=chosen != InvoiceMode.BATCH,
                             issued_until=until, of=a)
    return block_of(ledger, number, as_of, mode, modes)


def balance_block(s: Session, organisation_id: int, *, invoice_number: str | None = None,
                  as_of: date | None = None, mode: InvoiceMode | str | None = None) -> BalanceBlock | None:
    """The balance block of one of the customer's invoices (``invoice_number``), or of the last
    invoice issued by ``as_of`` (the period's), on ``as_of`` (default: today), under ``mode``
    (default: the mode in force for that invoice, per the billing configuration). None when the
    customer has no invoice by ``as_of``."""
    return account_block(s, organisation_id, invoice_number, as_of or date.today(),
                         InvoiceMode(mode) if mode is not None else None, get_settings(s))
