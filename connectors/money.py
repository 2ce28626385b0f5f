"""Money as every connector and the hub count it: ISO 4217 minor units and half-up rounding.

Pure and dependency-free, so connectors use it without importing the hub; the hub's billing
rules re-export it (``hub.billing.rules.amounts``) with their own error type.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: ISO 4217 minor units for currencies that do not use 2 decimals (every other code: 2).
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
         "VND", "VUV", "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
DEFAULT_MINOR_UNITS = 2


class MoneyError(ValueError):
    """A currency code or an amount that is not money; ``field`` names which, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def minor_units(currency: str) -> int:
    """Return the number of decimals of ``currency`` (3-letter ISO code; default 2).

    Raises:
        MoneyError: the code is not three letters.
    """
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError("currency", f"must be a 3-letter ISO 4217 code, not {currency!r}")
    return MINOR_UNITS.get(code, DEFAULT_MINOR_UNITS)


def as_decimal(value: Decimal | int, field: str) -> Decimal:
    """``value`` as a Decimal; a float (or a bool, or anything else) is refused.

    Raises:
        MoneyError: naming ``field``.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise MoneyError(field, f"must be a Decimal (never a float), not {value!r}")
    return Decimal(value)


def round_money(amount: Decimal | int, currency: str) -> Decimal:
    """Round ``amount`` half-up to the minor unit of ``currency`` (JPY 0, KWD 3, EUR 2 dp).

    Raises:
        MoneyError: a bad currency code, or an amount that is not a Decimal or an int.
    """
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return as_decimal(amount, "amount").quantize(exponent, rounding=ROUND_HALF_UP)
