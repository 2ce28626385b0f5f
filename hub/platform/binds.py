"""Bind values for bulk inserts without SQLAlchemy's per-value processors.

A sync page binds tens of thousands of values; SQLAlchemy's processors for the hub's column
types (``UTCDateTime`` through SQLite's ``DATETIME`` formatter, ``Money`` through ``String``,
dates, booleans) are two or three Python calls per value, about a tenth of a sync's CPU
(``bench/RESULTS.md``). Each function here gives the same bound value as SQLAlchemy's chain for
the values a sync and a billing run bind, with one C-level call, and hands any other value to
SQLAlchemy's own processor, so what is stored never differs (``tests/platform/test_insert_many.py``
compares the stored text).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, Dialect
from sqlalchemy.types import TypeEngine

from hub.platform.types import Money, UTCDateTime

Processor = Callable[[Any], Any]


def fast_processor(column_type: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """The bind processor for ``column_type`` on ``dialect``: a fast equivalent where one is
    known, else SQLAlchemy's own (``None`` when the driver takes values as they are)."""
    slow = column_type.dialect_impl(dialect).bind_processor(dialect)
    if slow is None:
        return None
    sqlite = dialect.name == "sqlite"
    if isinstance(column_type, UTCDateTime):
        return _utc_text(slow) if sqlite else _utc_instant(slow)
    if isinstance(column_type, Money):
        return _money_text(slow) if sqlite else _money_decimal(slow)
    if isinstance(column_type, Date) and sqlite:
        return _date_text(slow)
    if isinstance(column_type, Boolean):
        return _boolean(slow)
    return slow


def _utc_text(slow: Processor) -> Processor:
    # SQLite's DATETIME text: "YYYY-MM-DD HH:MM:SS.ffffff" of the UTC instant. A page's
    # bookkeeping stamps are one object for every row: the last one is remembered (one tuple,
    # swapped whole, so threads sharing the processor never pair a value with another's text).
    last: tuple[Any, str] = (None, "")

    def bind(value: Any) -> Any:
        nonlocal last
        if value is None:
            return None
        seen, text = last
        if value is seen:
            return text
        if type(value) is datetime and (zone := value.tzinfo) is not None:
            utc = value if zone is UTC else value.astimezone(UTC)
            text = utc.replace(tzinfo=None).isoformat(" ", "microseconds")
            last = (value, text)
            return text
        return slow(value)  # naive (refused there) or a subclass

    return bind


def _utc_instant(slow: Processor) -> Processor:
    def bind(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is datetime and value.tzinfo is not None:
            return value.astimezone(UTC)
        return slow(value)

    return bind


def _money_text(slow: Processor) -> Processor:
    def bind(value: Any) -> Any:
        return str(value) if type(value) is Decimal else None if value is None else slow(value)

    return bind


def _money_decimal(slow: Processor) -> Processor:
    def bind(value: Any) -> Any:
        return value if type(value) is Decimal or value is None else slow(value)

    return bind


def _date_text(slow: Processor) -> Processor:
    def bind(value: Any) -> Any:
        if type(value) is date:
            return value.isoformat()
        return None if value is None else slow(value)  # a datetime keeps SQLAlchemy's

    return bind


def _boolean(slow: Processor) -> Processor:
    # the drivers bind Python's bools themselves (SQLite as 1/0, as SQLAlchemy's int() does)
    def bind(value: Any) -> Any:
        return value if value is True or value is False or value is None else slow(value)

    return bind
