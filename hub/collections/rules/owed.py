"""What is still owed on an invoice: the one rule that collections, bulk pay, dunning, the
dashboard and the web lists all use.

The rule:

* An invoice in a status that is not a receivable owes nothing: a draft or an invoice in
  review is not yet owed; a paid, cancelled, voided or corrected one no longer is. Statuses
  are compared without case or surrounding blanks, so each source's spelling is understood
  (Business Central's ``Canceled`` and ``Corrective``, the PSA's ``Void``).
* Once the hub has collected the invoice in full it owes nothing, whatever the source says
  until its next sync.
* Otherwise it owes what the source says is still due (its ``amount_due``: the source has
  already taken partial payments and applied credit memos off it); when the source gives no
  amount due, its total less what the source says was paid; less what the hub collected that
  the source does not know of yet — unless those figures are the hub's own, written when it
  took the payment (they count it already). Never less than zero: an over-payment or a credit larger
  than the invoice leaves nothing owed on it (the surplus is the customer's credit, not a
  negative invoice).

The result is exact (no rounding): callers round once to the currency when they charge or show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: invoice statuses (lower case) that are not a receivable: not yet owed, or no longer
NOT_OWED_STATUSES = frozenset({
    "draft", "in review", "paid", "canceled", "cancelled", "void", "voided", "corrective",
})

ZERO = Decimal(0)


@dataclass(frozen=True)
class InvoiceFigures:
    """What the rule needs to know of an invoice.

    Attributes:
        total: the invoice's total, tax included.
        amount_due: what the source says is still due (``None`` when it does not say).
        amount_paid: what the source says was paid (used only without ``amount_due``).
        status: the source's status word.
        collected: what the hub collected that the source does not reflect yet.
        settled_in_hub: the hub collected the invoice in full.
        figures_include_collected: ``amount_due``/``status`` were written by the hub when it took
            a payment, so they already count ``collected``.
    """

    total: Decimal
    amount_due: Decimal | None = None
    amount_paid: Decimal | None = None
    status: str | None = None
    collected: Decimal = ZERO
    settled_in_hub: bool = False
    figures_include_collected: bool = False


@dataclass(frozen=True)
class PaymentEffect:
    """What a payment does to an invoice: what it pays of it, what is left as the customer's
    credit, and what is still owed afterwards."""

    applied: Decimal
    credit: Decimal
    still_owed: Decimal

    @property
    def settles(self) -> bool:
        return self.still_owed == ZERO


def is_receivable_status(status: str | None) -> bool:
    """Whether an invoice in this status can owe anything (an unknown status can)."""
    return (status or "").strip().lower() not in NOT_OWED_STATUSES


def still_owed(invoice: InvoiceFigures) -> Decimal:
    """What is still owed on the invoice (zero or more), by the rule in this module's docstring."""
    if invoice.settled_in_hub or not is_receivable_status(invoice.status):
        return ZERO
    if invoice.amount_due is not None:
        due = invoice.amount_due
    else:
        due = invoice.total - (invoice.amount_paid if invoice.amount_paid is not None else ZERO)
    return max(ZERO, due if invoice.figures_include_collected else due - invoice.collected)


def payment_effect(owed_before: Decimal, amount: Decimal) -> PaymentEffect:
    """A payment of ``amount`` on an invoice that owed ``owed_before``: it pays at most what was
    owed; anything beyond is the customer's credit (never a negative invoice)."""
    if amount <= ZERO:
        raise ValueError(f"a payment's amount must be positive, not {amount}")
    applied = min(amount, max(owed_before, ZERO))
    return PaymentEffect(applied=applied, credit=amount - applied, still_owed=max(owed_before, ZERO) - applied)
