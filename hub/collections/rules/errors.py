"""The collections' errors: a broken rule names the field (or subject) it is about, like billing's;
bad collection input or settings name the field."""

from __future__ import annotations

from decimal import Decimal

from hub.platform.errors import InputError, RuleError


class CollectionRuleError(RuleError):
    """A collection, dunning or notification rule was broken; ``field`` names what, ``reason`` why.

    A :class:`~hub.platform.errors.RuleError` (so a ``ValueError``), like billing's rule errors.
    """


def require_decimal(value: object, field: str) -> Decimal:
    """Return ``value`` as a ``Decimal``; ints are accepted, floats and bools refused."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise CollectionRuleError(field, f"must be a Decimal (never a float), not {value!r}")
    return Decimal(value)


def require_currency(code: object, field: str = "currency") -> str:
    """Return ``code`` as an upper-case 3-letter ISO 4217 code."""
    text = str(code or "").strip().upper()
    if len(text) != 3 or not text.isalpha():
        raise CollectionRuleError(field, f"must be a 3-letter ISO 4217 code, not {code!r}")
    return text


class CollectError(InputError):
    """Bad collection input or settings, naming the field."""

