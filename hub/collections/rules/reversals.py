"""Money going back after a charge (refunds, chargebacks): how much may go back, and which
invoices it reopens. Pure functions.

* What is left to give back of a charge is what it took less what was already refunded or
  charged back; a refund asks for all of it, or for a part no larger, in the currency's minor unit.
* Money going back reopens the invoices the charge paid, the last-paid part first (a charge of
  several invoices paid each its part, in order), never more than each part: an invoice is owed
  again by what went back of its own payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from connectors.money import minor_units
from hub.collections.rules.errors import CollectionRuleError, require_decimal

ZERO = Decimal(0)


def left_to_give_back(charged: Decimal, refunded: Decimal, charged_back: Decimal) -> Decimal:
    """What may still be refunded of a charge (never below zero)."""
    return max(ZERO, charged - refunded - charged_back)


def refund_amount(requested: Decimal | None, left: Decimal, currency: str) -> Decimal:
    """The amount a refund gives back: ``requested``, or everything ``left`` when None.

    Raises:
        CollectionRuleError: ``amount`` not positive, more decimals than the currency has, more than
            is left to refund, or nothing left at all; the message says how much is left.
    """
    if left <= ZERO:
        raise CollectionRuleError("amount", "nothing is left to refund on this payment (refunded or charged back "
                                            "in full already)")
    if requested is None:
        return left
    amount = require_decimal(requested, "amount")
    if not amount.is_finite() or amount <= ZERO:
        raise CollectionRuleError("amount", f"must be a positive amount, not {requested}")
    places = minor_units(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise CollectionRuleError("amount", f"{amount} has more decimals than {currency}'s {places}")
    if amount > left:
        raise CollectionRuleError("amount", f"{amount} {currency} is more than the {left} {currency} left to refund "
                                            "on this payment")
    return amount


def reopened_parts(amount: Decimal, parts: Sequence[tuple[int, Decimal]],
                   gone_before: Decimal) -> list[tuple[int, Decimal]]:
    """Which invoices ``amount`` going back reopens, and by how much each.

    Args:
        amount: what goes back now.
        parts: (invoice id, what the charge paid of it), in the order the charge paid them.
        gone_before: what of the charge already went back (earlier refunds and chargebacks).

    The last-paid parts go back first; what goes back beyond all parts (the charge paid more than
    was owed) reopens nothing.
    """
    result: list[tuple[int, Decimal]] = []
    skip, rest = gone_before, amount
    for invoice_id, part in reversed(parts):
        taken = min(part, skip)
        skip -= taken
        room = part - taken
        if room <= ZERO or rest <= ZERO:
            continue
        share = min(room, rest)
        result.append((invoice_id, share))
        rest -= share
    return result
