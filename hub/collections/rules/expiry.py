"""When to warn that a card on file expires (the "card expiring" notification)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from hub.collections.rules.errors import CollectionRuleError

#: warn this many days before the card's last valid day unless told otherwise
DEFAULT_WARNING_DAYS = 30


def card_expiry_date(month: int, year: int) -> date:
    """The last day a card expiring ``month``/``year`` is valid (``year`` may be 2 digits)."""
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise CollectionRuleError("expiry_month", f"must be 1-12, not {month!r}")
    if (
        isinstance(year, bool)
        or not isinstance(year, int)
        or not (0 <= year < 100 or 2000 <= year < 2100)
    ):
        raise CollectionRuleError("expiry_year", f"must be YY or YYYY (2000-2099), not {year!r}")
    full_year = year + 2000 if year < 100 else year
    return date(full_year, month, calendar.monthrange(full_year, month)[1])


def card_expiry_notice_due(
    month: int, year: int, today: date, *, days_before: int = DEFAULT_WARNING_DAYS
) -> bool:
    """True from ``days_before`` days before the card's last valid day on (also once expired).

    Send it once: key the notification with :func:`card_expiring_key`.
    """
    if days_before < 0:
        raise CollectionRuleError("days_before", f"must not be negative, not {days_before}")
    return today >= card_expiry_date(month, year) - timedelta(days=days_before)


def card_expiring_key(card_token: str, month: int, year: int) -> str:
    """The notification key of one card's expiry (a renewed card's new expiry warns again)."""
    expiry = card_expiry_date(month, year)
    return f"card_expiring:{card_token}:{expiry:%Y-%m}"
