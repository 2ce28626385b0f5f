"""Money: currency minor units, half-up rounding, and a plan line's amounts per period."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from connectors import money
from connectors.money import DEFAULT_MINOR_UNITS, MINOR_UNITS, MoneyError
from hub.billing.rules.errors import BillingRuleError

__all__ = ["DEFAULT_MINOR_UNITS", "MINOR_UNITS", "LineMoney", "line_amounts", "line_money", "minor_units",
           "round_money"]


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


@dataclass(frozen=True)
class LineMoney:
    """A line's money for one billing period, each figure rounded to the currency's minor unit.

    ``discount`` is everything taken off (the discount amount and the percent together), so
    ``gross - discount == net`` to the cent: what the ERP line carries as its discountAmount.
    """

    gross: Decimal
    discount: Decimal
    net: Decimal
    currency: str


#: the store keeps 4 decimals and 16 integer digits (NUMERIC(20, 4)); anything beyond is refused
STORED_PLACES = 4
MAX_MAGNITUDE = Decimal("1e15")


def _stored(value: Decimal, field: str) -> Decimal:
    """``value`` if the store keeps it exactly; otherwise a BillingRuleError naming ``field``."""
    if abs(value) >= MAX_MAGNITUDE:
        raise BillingRuleError(field, f"{value} is too large (the limit is below {MAX_MAGNITUDE:,.0f})")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > STORED_PLACES and value != value.quantize(Decimal(1).scaleb(-STORED_PLACES)):
        raise BillingRuleError(field, f"{value} has more than {STORED_PLACES} decimal places")
    return value


def line_money(
    quantity: Decimal | int,
    sales_price: Decimal | int,
    discount_amount: Decimal | int,
    discount_percent: Decimal | int,
    currency: str,
) -> LineMoney:
    """The one computation of a line's gross, discount and net for one billing period.

    gross = quantity x price; net = gross - discount_amount - gross x percent / 100, computed
    exactly and rounded once, half-up to the currency's minor unit; discount = gross - net. The
    preview, the action, the ERP line and the credit note all take their figures from here.

    Raises:
        BillingRuleError (a ValueError): a negative quantity, price or discount, a percent over
        100, discounts bigger than the gross, a figure the store cannot keep (1e15 or more, more
        than 4 decimals); the message names the field.
    """
    qty = _stored(_decimal(quantity, "quantity"), "quantity")
    price = _stored(_decimal(sales_price, "sales_price"), "sales_price")
    d_amount = _stored(_decimal(discount_amount, "discount_amount"), "discount_amount")
    d_percent = _stored(_decimal(discount_percent, "discount_percent"), "discount_percent")
    if qty < 0:
        raise BillingRuleError("quantity", f"must not be negative, not {qty}")
    if price < 0:
        raise BillingRuleError("sales_price", f"must not be negative, not {price}")
    if d_amount < 0:
        raise BillingRuleError("discount_amount", f"must not be negative, not {d_amount}")
    if not 0 <= d_percent <= 100:
        raise BillingRuleError("discount_percent", f"must be between 0 and 100, not {d_percent}")
    gross = qty * price
    if gross >= MAX_MAGNITUDE:
        raise BillingRuleError("quantity", f"{qty} x {price} = {gross} is too large for one billing period")
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
    rounded_gross, rounded_net = round_money(gross, currency), round_money(net, currency)
    return LineMoney(rounded_gross, rounded_gross - rounded_net, rounded_net, currency.upper())


def line_amounts(
    quantity: Decimal | int,
    sales_price: Decimal | int,
    discount_amount: Decimal | int,
    discount_percent: Decimal | int,
    currency: str,
) -> tuple[Decimal, Decimal]:
    """A line's ``(gross, net)`` for one billing period: those of :func:`line_money`."""
    money_ = line_money(quantity, sales_price, discount_amount, discount_percent, currency)
    return money_.gross, money_.net


def erp_total_mismatch(document: str, total: object, document_currency: str | None, net: Decimal,
                       currency: str, customer_currency: str | None) -> str | None:
    """Why an ERP document's total excluding tax is not the action's net, or None when it is.

    The comparison is exact to the cent, and in the currency too: a document without a currency
    code is in the customer's currency (BC's blank code).
    """
    try:
        erp = Decimal(str(total))
    except ArithmeticError:
        return f"{document} has no total the hub can read ({total!r})"
    erp_currency = (document_currency or customer_currency or "").upper()
    if erp != net or (erp_currency and erp_currency != currency.upper()):
        return (f"{document} totals {erp} {erp_currency or '(customer currency)'} excluding tax, "
                f"but the action's net amount is {net} {currency.upper()}")
    return None


def document_currency(currency: str, customer_currency: str | None) -> str | None:
    """The currency code an ERP document must carry for an amount in ``currency``: none when it is
    the customer's own (the ERP's default for the customer), else ``currency``.

    A customer synced without a currency code is in the ERP's local currency, which the hub does
    not know: its documents carry no code either (the ERP's default applies, as before).
    """
    if not customer_currency or customer_currency.upper() == currency.upper():
        return None
    return currency.upper()
