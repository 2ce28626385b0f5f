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
from hub.documents.ledger import Ledger, customer_ledger
from hub.documents.rules.statements import EntryKind, cycles
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


def block_of(ledger: Ledger, number: str | None, as_of: date, mode: InvoiceMode | None,
             modes: Any = None) -> BalanceBlock | None:
    """The block of invoice ``number`` (None: the last invoice issued by ``as_of``) of ``ledger``;
    None when the customer has no invoice by then. ``mode`` None: the mode ``modes`` (the
    document settings) give the invoice's issue day."""
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
    result: InvoiceStatement = invoice_statement(chosen, plan.invoices, plan.payments, cycle.number, as_of,
                                                 ledger.currency)
    shown = number or next(e.number for e in known if e.kind == EntryKind.INVOICE and e.day == cycle.issue_date)
    return BalanceBlock(shown, as_of, ledger.currency, chosen, result.previous_balance, result.payments_adjustments,
                        result.current_charges, result.amount_due, result.credit_balance)


def balance_block(s: Session, organisation_id: int, *, invoice_number: str | None = None,
                  as_of: date | None = None, mode: InvoiceMode | str | None = None) -> BalanceBlock | None:
    """The balance block of one of the customer's invoices (``invoice_number``), or of the last
    invoice issued by ``as_of`` (the period's), on ``as_of`` (default: today), under ``mode``
    (default: the mode in force for that invoice, per the billing configuration). None when the
    customer has no invoice by ``as_of``."""
    settings = get_settings(s)
    when = as_of or date.today()
    return block_of(customer_ledger(s, organisation_id), invoice_number, when,
                    InvoiceMode(mode) if mode is not None else None, settings)
