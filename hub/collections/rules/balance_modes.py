"""Invoice balance modes (seed 001): how an invoice shows payments applied.

* **Dynamic**: the invoice's balance is adjusted at once to reflect payments applied to it.
* **Static**: previous balances and payments are not reflected on the invoice.
* **Batch**: payments made in the previous billing cycle are carried forward, in one batch,
  to the following cycle's invoice, together with the previous invoice's amount due.

Each invoice statement has the seed's four rows: Previous Balance, Payments/Adjustments,
Current Charges and Amount Due (= previous balance - payments/adjustments + current charges).

Payments/Adjustments count payments and credits (credit memos) alike. Amount Due is never
below zero: what a payment or credit leaves over is the customer's ``credit_balance`` (as the
owed rule says, never a negative invoice), carried into the next cycle's Payments/Adjustments
in dynamic and batch mode. A payment or credit applied to no invoice belongs to the cycle it
was received in (the invoice issued last on or before that day; before the first, the first).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from connectors.money import round_money
from hub.collections.rules.errors import CollectionRuleError, require_decimal


class InvoiceMode(StrEnum):
    DYNAMIC = "dynamic"
    STATIC = "static"
    BATCH = "batch"

    @property
    def label(self) -> str:
        return f"{self.value.capitalize()} Mode"


@dataclass(frozen=True)
class CycleInvoice:
    """The invoice of one billing cycle: its number, issue date and current charges."""

    number: str
    issue_date: date
    current_charges: Decimal


class AdjustmentKind(StrEnum):
    PAYMENT = "payment"
    CREDIT = "credit"


@dataclass(frozen=True)
class AppliedPayment:
    """A payment (or a credit, by ``kind``) received on ``received_on`` and applied to invoice
    ``invoice_number`` (None: to the customer's account, not to one invoice)."""

    received_on: date
    amount: Decimal
    invoice_number: str | None
    kind: AdjustmentKind = AdjustmentKind.PAYMENT


@dataclass(frozen=True)
class InvoiceStatement:
    number: str
    mode: InvoiceMode
    previous_balance: Decimal
    payments_adjustments: Decimal
    current_charges: Decimal
    amount_due: Decimal
    #: what payments and credits left over beyond everything owed: the customer's credit
    credit_balance: Decimal = Decimal(0)


#: the statement's rows in the seed's order: (label, attribute)
STATEMENT_ROWS: tuple[tuple[str, str], ...] = (
    ("Previous Balance", "previous_balance"),
    ("Payments/Adjustments", "payments_adjustments"),
    ("Current Charges", "current_charges"),
    ("Amount Due", "amount_due"),
)


def _validated(
    invoices: Sequence[CycleInvoice], payments: Sequence[AppliedPayment]
) -> list[CycleInvoice]:
    ordered = sorted(invoices, key=lambda inv: inv.issue_date)
    numbers: set[str] = set()
    for inv in ordered:
        if inv.number in numbers:
            raise CollectionRuleError("invoices", f"invoice {inv.number} is listed twice")
        numbers.add(inv.number)
        if require_decimal(inv.current_charges, "current_charges") < 0:
            raise CollectionRuleError(
                "current_charges", f"invoice {inv.number}: must not be negative"
            )
    for i in range(1, len(ordered)):
        if ordered[i].issue_date == ordered[i - 1].issue_date:
            raise CollectionRuleError(
                "invoices",
                f"invoices {ordered[i - 1].number} and {ordered[i].number} are issued the "
                f"same day: one invoice per billing cycle",
            )
    for p in payments:
        if require_decimal(p.amount, "payment.amount") <= 0:
            raise CollectionRuleError("payment.amount", f"must be above 0, not {p.amount}")
        try:
            AdjustmentKind(p.kind)
        except ValueError:
            raise CollectionRuleError("payment.kind", f"must be payment or credit, not {p.kind!r}") from None
        if p.invoice_number is not None and p.invoice_number not in numbers:
            raise CollectionRuleError("payment.invoice_number", f"no invoice {p.invoice_number}")
    return ordered


def _cycle_of(issue_dates: Sequence[date], day: date) -> int:
    """The index of the cycle ``day`` falls in (before the first invoice: the first cycle)."""
    return max(bisect.bisect_right(issue_dates, day) - 1, 0)


def invoice_statement(
    mode: InvoiceMode,
    invoices: Sequence[CycleInvoice],
    payments: Sequence[AppliedPayment],
    number: str,
    as_of: date,
    currency: str,
) -> InvoiceStatement:
    """Return what invoice ``number`` shows on ``as_of`` under ``mode``.

    ``invoices`` are one customer's invoices, one per billing cycle; a cycle runs from its
    invoice's issue date to the next invoice's (exclusive). ``payments`` are its payments and
    credits. Amounts are rounded once per invoice, to the currency's minor unit.

    Raises:
        CollectionRuleError: an unknown invoice, one not yet issued on ``as_of``, two
        invoices of one cycle, negative charges, or a payment of 0 or less or to no invoice.
    """
    mode = InvoiceMode(mode)
    ordered = _validated(invoices, payments)
    index = next((i for i, inv in enumerate(ordered) if inv.number == number), None)
    if index is None:
        raise CollectionRuleError("number", f"no invoice {number}")
    if as_of < ordered[index].issue_date:
        raise CollectionRuleError(
            "as_of", f"invoice {number} is issued on {ordered[index].issue_date}, after {as_of}"
        )
    issue_dates = [inv.issue_date for inv in ordered]
    applied: dict[str, list[AppliedPayment]] = defaultdict(list)  # dynamic: per invoice
    per_cycle: dict[int, Decimal] = defaultdict(Decimal)  # batch: per cycle received in
    for p in payments:
        cycle = _cycle_of(issue_dates, p.received_on)
        applied[p.invoice_number or ordered[cycle].number].append(p)
        per_cycle[cycle] += p.amount
    zero = Decimal(0)
    carry, prior_due = zero, zero  # the previous invoice's credit left over, and its amount due
    # a static invoice shows its own charges only: the earlier cycles change nothing on it
    for i in range(index if mode == InvoiceMode.STATIC else 0, index + 1):
        invoice = ordered[i]
        previous = paid = zero
        if mode == InvoiceMode.DYNAMIC:
            until = as_of if i == index else ordered[i + 1].issue_date
            paid = carry + sum((p.amount for p in applied[invoice.number] if p.received_on <= until), zero)
        elif mode == InvoiceMode.BATCH and i > 0:
            previous, paid = prior_due, carry + per_cycle[i - 1]
        charges = Decimal(invoice.current_charges)
        due = previous - paid + charges
        # what the next cycle takes over is what this invoice shows: rounded as shown
        carry, prior_due = round_money(max(-due, zero), currency), round_money(max(due, zero), currency)
    return InvoiceStatement(
        number=ordered[index].number,
        mode=mode,
        previous_balance=round_money(previous, currency),
        payments_adjustments=round_money(paid, currency),
        current_charges=round_money(charges, currency),
        amount_due=prior_due,
        credit_balance=carry,
    )


def compare_modes(
    invoices: Sequence[CycleInvoice],
    payments: Sequence[AppliedPayment],
    number: str,
    as_of: date,
    currency: str,
) -> list[tuple[str, tuple[Decimal, ...]]]:
    """The seed's comparison table of invoice ``number`` on ``as_of``.

    One row per statement line (:data:`STATEMENT_ROWS`), one column per mode in the seed's
    order: Dynamic, Static, Batch.
    """
    statements = [
        invoice_statement(m, invoices, payments, number, as_of, currency) for m in InvoiceMode
    ]
    return [(label, tuple(getattr(s, attr) for s in statements)) for label, attr in STATEMENT_ROWS]
