"""Sending a write at most once per key, when an answer may be lost on the way back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from connectors.http.errors import ApiError

T = TypeVar("T")


def send_once(
    send: Callable[[], T],
    existing: Callable[[], T | None],
    *,
    look_first: bool = True,
    on_maybe_applied: Callable[[ApiError], None] | None = None,
) -> T:
    """Send a keyed write so that one key never makes two records.

    ``existing()`` returns what the remote already holds under the key (or None). It is asked
    before the first send (unless ``look_first`` is False: nothing can have been sent yet) and
    again whenever a send fails with ``maybe_applied``; then the write is sent once more, and
    that second failure is final.

    Raises:
        ApiError: a failure that cannot have applied, or the second one.
    """
    found = existing() if look_first else None
    if found is not None:
        return found
    for attempt in (1, 2):
        try:
            return send()
        except ApiError as exc:
            if not exc.maybe_applied or attempt == 2:
                raise
            if on_maybe_applied is not None:
                on_maybe_applied(exc)
            found = existing()
            if found is not None:
                return found
    raise AssertionError("unreachable")  # pragma: no cover
