"""Business Central's pages asked for ahead: each next link is found in a page's bytes as the page
arrives, and its request sent at once from the same thread, while the walk decodes the page before.

The walk follows only the links its decoded pages give (``@odata.nextLink``): a page asked for by a
link its bytes seemed to say, but the decoded page does not, is dropped. At most one page is asked
for beyond the one the walk waits for, so a slow caller holds at most two pages it has not taken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from connectors.http import PageGuard

_NEXT_LINK = b'"@odata.nextLink":"'


def next_link_hint(content: bytes) -> str | None:
    """A page's ``@odata.nextLink`` read from its raw JSON without decoding it: the last one in the
    body (where Business Central writes it, after the records). None when there is none or it is
    written with escapes; the decoded page always has the last word."""
    at = content.rfind(_NEXT_LINK)
    if at < 0:
        return None
    start = at + len(_NEXT_LINK)
    end = content.find(b'"', start)
    link = content[start:end] if end > 0 else b"\\"
    return None if b"\\" in link or not link.isascii() else link.decode()


class PagesAhead:
    """Use as a context manager around a walk: :meth:`take` a link's response (asked for ahead when
    it was found in the page before, else now)."""

    def __init__(self, send: Callable[[str], httpx.Response], guard: PageGuard) -> None:
        self._send, self._guard = send, guard
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bc-next-page")
        self._lock = threading.Lock()
        self._ahead: dict[str, Future[httpx.Response]] = {}  # asked for, not taken yet
        self._dropped: set[Future[httpx.Response]] = set()
        self._closed = False

    def offer(self, response: httpx.Response) -> None:
        """A page arrived (or the walk's first): ask for the one its bytes link to, unless a page
        asked for ahead is not taken yet or the link was followed already."""
        hint = next_link_hint(response.content)
        with self._lock:
            if hint is None or self._closed or self._ahead or self._guard.seen(hint):
                return
            future = self._ahead[hint] = self._pool.submit(self._send, hint)
        future.add_done_callback(self._arrived)

    def _arrived(self, done: Future[httpx.Response]) -> None:
        # in the thread that asked for it: the next request leaves without waiting for the walk
        with self._lock:
            dropped = done in self._dropped
        if not dropped and not done.cancelled() and done.exception() is None:
            self.offer(done.result())

    def take(self, link: str) -> httpx.Response:
        """The response of ``link`` (the decoded page's next link)."""
        with self._lock:
            future = self._ahead.pop(link, None)
            stale, self._ahead = list(self._ahead.values()), {}
            self._dropped.update(stale)  # a link the bytes seemed to say, not the page's
        for other in stale:
            other.cancel()
        response = future.result() if future is not None else self._send(link)
        self.offer(response)
        return response

    def __enter__(self) -> PagesAhead:
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
