"""Guards every paginator shares: a page token followed twice is a loop, not more data."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from connectors.http.errors import PaginationLoopError, strip_query
from connectors.http.records import get_ci


class PageGuard:
    """Refuses a page token it has already seen (next links, page numbers or page fingerprints).

    Servers that ignore the page number or hand back the same next link would otherwise
    make a sync loop forever.

    Args:
        path: The stream's path, only to make the error say where the loop was.
    """

    def __init__(self, path: str = "") -> None:
        self._path = strip_query(path)
        self._seen: set[Hashable] = set()

    def seen(self, token: Hashable) -> bool:
        """Whether ``token`` was recorded already (:meth:`check` would refuse it)."""
        return token in self._seen

    def check(self, token: Hashable) -> None:
        """Record ``token``; raise PaginationLoopError if it was seen before.

        The token itself is kept out of the message: a next link carries a query string.
        """
        if token in self._seen:
            raise PaginationLoopError(
                f"page token repeated after {len(self._seen)} pages", path=self._path
            )
        self._seen.add(token)


def fingerprint(records: Sequence[Mapping[str, Any]], key: str) -> str:
    """A stable hash of the page's ids, to catch servers that ignore the page number.

    Ids are read case-insensitively and sorted, so the same page in another order still
    matches.

    Raises:
        KeyError: A record has no ``key`` field; without it every page would look alike.
    """
    missing = object()
    ids: list[str] = []
    for record in records:
        value = get_ci(record, key, missing)
        if value is missing:
            raise KeyError(f"record has no {key!r} field")
        ids.append(str(value))
    return hashlib.sha256("\x1f".join(sorted(ids)).encode()).hexdigest()
