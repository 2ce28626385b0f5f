"""The collection domain's shared values: an unpaid invoice and a customer's payment method.

The hub keeps these as rows; the rules take and return these frozen values, so each rule is
testable without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from hub.collections.rules.errors import CollectionRuleError, require_currency, require_decimal


class PaymentMethodKind(StrEnum):
    """How a customer pays (seed 000: the "Payment Method" panel of the customer)."""

    CARD = "card"
    DIRECT_DEBIT = "direct_debit"
    NONE = "none"


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice as collection and dunning see it.

    Attributes:
        invoice_id: the hub's stable id of the invoice (any string; used in idempotency keys).
        number: the invoice number the customer sees.
        customer: the customer (organisation) it belongs to.
        currency: ISO 4217 code.
        balance: what is still unpaid (0 once paid; never negative).
        issue_date: when the invoice was issued (sent to the customer).
        due_date: when payment is due (on or after ``issue_date``).
        charge_attempts: charges of this invoice already tried (0: never charged).
        levels_notified: the overdue levels whose notice was already sent.
        penalty_raised: whether the late-payment penalty was already raised.
    """

    invoice_id: str
    number: str
    customer: str
    currency: str
    balance: Decimal
    issue_date: date
    due_date: date
    charge_attempts: int = 0
    levels_notified: frozenset[int] = field(default_factory=frozenset)
    penalty_raised: bool = False

    def __post_init__(self) -> None:
        if not str(self.invoice_id or "").strip():
            raise CollectionRuleError("invoice_id", "must not be empty")
        object.__setattr__(self, "currency", require_currency(self.currency))
        balance = require_decimal(self.balance, "balance")
        if balance < 0:
            raise CollectionRuleError(
                "balance", f"invoice {self.number}: must not be negative, not {balance}"
            )
        if self.due_date < self.issue_date:
            raise CollectionRuleError(
                "due_date",
                f"invoice {self.number}: due {self.due_date} is before its issue date "
                f"{self.issue_date}",
            )
        if self.charge_attempts < 0:
            raise CollectionRuleError(
                "charge_attempts", f"must not be negative, not {self.charge_attempts}"
            )
        object.__setattr__(self, "levels_notified", frozenset(self.levels_notified))

    @property
    def is_paid(self) -> bool:
        return self.balance == 0
