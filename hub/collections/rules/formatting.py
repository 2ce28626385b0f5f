"""Amounts and dates as a customer reads them in their language (en, de).

Amounts are rounded half-up to the currency's minor unit first (``round_money``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from connectors.money import minor_units, round_money

#: currency code -> symbol; other codes are written as the code itself ("SEK 10.00")
SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

#: language -> (thousands separator, decimal separator, symbol before the amount)
_NUMBER_STYLE: dict[str, tuple[str, str, bool]] = {
    "en": (",", ".", True),
    "de": (".", ",", False),
}

_MONTHS: dict[str, tuple[str, ...]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
}

#: the languages these formats (and the notification templates) exist in
LANGUAGES: tuple[str, ...] = tuple(_NUMBER_STYLE)
DEFAULT_LANGUAGE = "en"


def _style(language: str) -> str:
    return language if language in _NUMBER_STYLE else DEFAULT_LANGUAGE


def format_money(amount: Decimal, currency: str, language: str = DEFAULT_LANGUAGE) -> str:
    """``$1,234.50`` (en), ``1.234,50 €`` (de); ``-$25.00`` when negative; other languages: en."""
    code = currency.strip().upper()
    value = round_money(amount, code)
    thousands, decimal_sep, before = _NUMBER_STYLE[_style(language)]
    whole, _, frac = f"{abs(value):,.{minor_units(code)}f}".partition(".")
    number = whole.replace(",", thousands) + (decimal_sep + frac if frac else "")
    sign = "-" if value < 0 else ""
    symbol = SYMBOLS.get(code)
    if before:
        return f"{sign}{symbol}{number}" if symbol else f"{sign}{code} {number}"
    return f"{sign}{number} {symbol or code}"


def format_date(day: date, language: str = DEFAULT_LANGUAGE) -> str:
    """``August 10, 2012`` (en), ``10. August 2012`` (de); other languages: en."""
    lang = _style(language)
    month = _MONTHS[lang][day.month - 1]
    if lang == "en":
        return f"{month} {day.day}, {day.year}"
    return f"{day.day}. {month} {day.year}"
