"""What can be charged now, and what one payment can pay together: the checks before a charge.

A row of the bulk-pay answer (:class:`ChargeRow`) says per invoice what happened or why nothing did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from connectors.money import round_money
from hub.collections.of_record import copy_view, is_receivable
from hub.collections.payments import Payer, payer
from hub.collections.receivables import owed
from hub.collections.rules import PaymentMethodKind
from hub.collections.unpaid import OPEN, charges_of, collection_of, currency_of
from hub.platform.db import session
from hub.platform.models import Charge, Invoice, PaymentMethod

#: the one currency an ACH direct debit moves
ACH_CURRENCY = "USD"

#: an invoice that may be charged: (invoice, who pays it, the amount, its currency)
Ready = tuple[Invoice, Payer, Decimal, str]


@dataclass(frozen=True)
class ChargeRow:
    """One invoice's outcome (seed 000's response column): approved, declined, skipped (why),
    unknown (no answer: settled next run under the same key) or failed (refused before sending)."""

    invoice_id: int
    invoice_number: str | None
    amount: Decimal | None
    currency: str | None
    status: str
    reason: str | None = None
    transaction_id: str | None = None
    key: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def hard_declined(s: Session, method: PaymentMethod) -> bool:
    """Whether a charge on this card was hard-declined (or a debit on this mandate returned for
    good): nothing more is charged on it, every invoice waits for a new card or mandate (which
    is a new payment method)."""
    return s.exec(select(Charge.id).where(Charge.payment_method_id == method.id,
                                          col(Charge.hard_decline).is_(True)).limit(1)).first() is not None


def check(s: Session, invoice_id: int) -> ChargeRow | Ready:
    """Why the invoice cannot be charged now (a skipped row), else (invoice, payer, amount, currency)."""
    invoice = s.exec(select(Invoice).where(Invoice.id == invoice_id)).one_or_none()
    if invoice is None or invoice.is_deleted:
        return ChargeRow(invoice_id, None, None, None, "skipped", "no such invoice")

    def skip(reason: str, amount: Decimal | None = None, currency: str | None = None) -> ChargeRow:
        return ChargeRow(invoice_id, invoice.number, amount, currency, "skipped", reason)

    if not is_receivable(s, invoice):
        twin = copy_view(s, invoice)
        return skip("a copy: the receivable of record is " + (
            f"invoice {twin['other']['number']} of {twin['record_source']}" if twin else "the other system's invoice"))
    who = payer(s, invoice)
    currency = currency_of(s, invoice, who.organisation if who else None)
    left = owed(invoice, collection_of(s, invoice_id))
    if left <= 0:
        return skip("already paid", Decimal(0), currency)
    if currency is None:
        return skip("the invoice has no currency", left)
    amount = round_money(left, currency)
    method = who.method if who else None
    if who is None or method is None or method.kind == PaymentMethodKind.NONE:
        return skip("the customer has no card or direct-debit mandate", amount, currency)
    mandate = method.kind == PaymentMethodKind.DIRECT_DEBIT
    if not method.vaulted_shopper_id:
        return skip("the mandate was entered by hand and has no bank account at the gateway: send the contact "
                    "the bank-account form" if mandate else "the card on file has no gateway shopper", amount, currency)
    if mandate and currency != ACH_CURRENCY:
        return skip(f"a direct debit (ACH) collects {ACH_CURRENCY} only, not {currency}", amount, currency)
    if hard_declined(s, method):
        return skip("the bank returned a debit on this mandate for good: a new mandate is needed" if mandate
                    else "the card on file was declined for good: a new card is needed", amount, currency)
    if any(c.status in OPEN for c in charges_of(s, invoice_id)):
        return skip("an earlier charge is still being settled", amount, currency)
    return invoice, who, amount, currency


def group_of(ready: Ready) -> tuple[int | None, str, int]:
    """What invoices paid by one payment share: the card, the currency and the source system."""
    invoice, who, _, currency = ready
    return (who.method.id if who.method else None), currency, invoice.connector_id


def payment_groups(environment: str, ids: list[int]) -> list[list[int]]:
    """The invoices grouped by what one payment can share (card, currency, source), in the order given."""
    groups: dict[object, list[int]] = {}
    with session(environment) as s:
        for invoice_id in ids:
            checked = check(s, invoice_id)
            key = invoice_id if isinstance(checked, ChargeRow) else group_of(checked)
            groups.setdefault(key, []).append(invoice_id)
    return list(groups.values())
