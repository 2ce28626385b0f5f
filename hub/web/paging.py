"""Server-side paging of the pages' lists: which page was asked for, and what the pager shows.

A list the database can count gives ``total`` and ``pages``; one it cannot count cheaply is
fetched one row past the page, which says whether a next page exists (``pages`` is then None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from hub.platform.errors import InputError

#: rows on one page of a list (lists stop nowhere: the pager leads on)
PAGE_SIZE = 100
Row = TypeVar("Row")


def offset(page: int, size: int = PAGE_SIZE) -> int:
    if page < 1:
        raise InputError(f"page: must be 1 or more, not {page}")
    return (page - 1) * size


def counted(rows: Sequence[Any], total: int, page: int, size: int = PAGE_SIZE) -> dict[str, Any]:
    """A page of a counted list."""
    return {"rows": list(rows), "total": total, "page": page, "pages": max(1, -(-total // size)), "more": False}


def sliced(rows: Sequence[Row], page: int, size: int = PAGE_SIZE) -> dict[str, Any]:
    """A page of a list already in memory (one the hub's rule decides row by row)."""
    start = offset(page, size)
    return counted(rows[start:start + size], len(rows), page, size)


def peeked(rows: Sequence[Any], page: int, size: int = PAGE_SIZE) -> dict[str, Any]:
    """A page fetched with one row more than it shows (``size + 1``): whether another page follows."""
    return {"rows": list(rows[:size]), "total": None, "page": page, "pages": None, "more": len(rows) > size}
