"""Calendar arithmetic shared by the billing and collection rules (pure)."""

from __future__ import annotations

import calendar
from datetime import date

__all__ = ["add_months"]


def add_months(anchor: date, months: int) -> date:
    """Return ``anchor`` moved by ``months`` (may be negative), keeping the anchor's day.

    The day is clamped to the end of the target month: Jan 31 + 1 -> Feb 28 (Feb 29 in leap
    years), Jan 31 + 2 -> Mar 31.
    """
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    day = anchor.day
    if day > 28:  # only these days can overflow a month
        day = min(day, calendar.monthrange(year, month)[1])
    return date(year, month, day)
