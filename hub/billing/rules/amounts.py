"""Money: currency minor units, half-up rounding, and a plan line's amounts per period."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from connectors import money
from connectors.money import DEFAULT_MINOR_UNITS, MINOR_UNITS, MoneyError
from hub.billing.rules.errors import BillingRuleError

__all__ = ["DEFAULT_MINOR_UNITS", "MINOR_UNITS", "line_amounts", "minor_units", "round_money"]


@contextmanager
def _as_rule_error() -> Iterator[None]:
    """The money helpers live in ``connectors.money``; billing callers get BillingRuleError."""
    try:
        yield
    except MoneyError as exc:
        raise BillingRuleError(exc.field, exc.reason) from None


def minor_units(currency: str) -> int:
    """Return the number of decimals of ``currency`` (3-letter ISO code; default 2).

    Raises:
        BillingRuleError: the code is not three letters.
    """
    with _as_rule_error():
        return money.minor_units(currency)


def _decimal(value: Decimal | int, field: str) -> Decimal:
    with _as_rule_error():
        return money.as_decimal(value, field)


def round_money(amount: Decimal | int, currency: str) -> Decimal:
    """Round ``amount`` half-up to the minor unit of ``currency`` (JPY 0, KWD 3, EUR 2 dp)."""
    with _as_rule_error():
        return money.round_money(amount, currency)


def line_amounts(
    quantity: Decimal | int,
    sales_price: Decimal | int,
    discount_amount: Decimal | int,
    discount_percent: Decimal | int,
    currency: str,
) -> tuple[Decimal, Decimal]:
    """Return a line's ``(gross, net)`` for one billing period.

    gross = quantity x price; net = gross - discount_amount - gross x percent / 100. Both are
    computed exactly and rounded once, at the end, half-up to the currency's minor unit.

    Raises:
        BillingRuleError (a ValueError): a negative quantity, price or discount, a percent over
        100, or discounts bigger than the gross; the message names the field.
    """
    qty = _decimal(quantity, "quantity")
    price = _decimal(sales_price, "sales_price")
    d_amount = _decimal(discount_amount, "discount_amount")
    d_percent = _decimal(discount_percent, "discount_percent")
    if qty < 0:
        raise BillingRuleError("quantity", f"must not be negative, not {qty}")
    if price < 0:
        raise BillingRuleError("sales_price", f"must not be negative, not {price}")
    if d_amount < 0:
        raise BillingRuleError("discount_amount", f"must not be negative, not {d_amount}")
    if not 0 <= d_percent <= 100:
        raise BillingRuleError("discount_percent", f"must be between 0 and 100, not {d_percent}")
    gross = qty * price
    if d_amount > gross:
        raise BillingRuleError(
            "discount_amount", f"{d_amount} is bigger than the gross amount {gross} of the period"
        )
    net = gross - d_amount - gross * d_percent / 100
    if net < 0:
        raise BillingRuleError(
            "discount_amount",
            f"{d_amount} plus {d_percent}% is bigger than the gross amount {gross} of the period",
        )
    return round_money(gross, currency), round_money(net, currency)
