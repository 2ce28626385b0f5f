"""A stream's pages stored several to a transaction: committed about once a second, whenever
the next page is not there yet, and on SQLite also whenever another writer of this process waits
for the database's one write lock, which an open transaction holds.

Each commit of a page costs the same whatever its size (on SQLite: taking the write lock, and
writing the b-tree pages the page touched to the WAL again — at 100k ERP records ~60 ms a page,
a third of its store), so pages that arrive back to back share one. The cursor moves only when
the walk completes, so a kill that loses the open transaction loses nothing the next run does
not read again; and a transaction never stays open while the stream waits for the source (nor
when the source failed: what was stored is kept), so it holds no other stream's writes back
meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType

from sqlmodel import Session

from hub.platform.db import session, writers_waiting

#: seconds after which an open transaction commits, even with the next page ready
COMMIT_EVERY = 1.0


class PageTransactions:
    """Use as a context manager around a stream's walk: ``current()`` is the open transaction's
    session (begun on first use), ``page_done()`` commits it when due; leaving commits what is
    open, or rolls it back when an error leaves."""

    def __init__(self, environment: str, *, next_ready: Callable[[], bool], every: float = COMMIT_EVERY,
                 walk_ended: Callable[[], bool] = lambda: False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``every``: the commit interval (seconds); ``walk_ended``: whether the source has no page
        left, so the walk's completion (its deletes, its cursor) follows at once and shares the last
        page's transaction."""
        self.environment, self._next_ready, self._clock = environment, next_ready, clock
        self._walk_ended = walk_ended
        self._every = every
        self._open: ExitStack | None = None
        self._session: Session | None = None
        self._began = 0.0
        self.commits = 0

    @property
    def open(self) -> bool:
        """Whether a transaction is open: its writes are not seen by other sessions yet."""
        return self._session is not None

    def current(self) -> Session:
        if self._session is None:
            self._open = ExitStack()
            self._session = self._open.enter_context(session(self.environment))
            self._began = self._clock()
        return self._session

    def page_done(self) -> None:
        """A page is stored: commit unless the next one is waiting, the transaction is young and no
        other writer waits for SQLite's write lock it holds; or the walk has ended (its completion
        commits with the last page: one write transaction less per stream, which on SQLite is one
        turn less at the write lock the streams share)."""
        if self._session is None or self._walk_ended():
            return
        if (not self._next_ready() or self._clock() - self._began >= self._every
                or writers_waiting(self._session.get_bind())):
            self.commit()

    def commit(self) -> None:
        if self._open is not None:
            stack, self._open, self._session = self._open, None, None
            stack.close()  # the session's context commits
            self.commits += 1

    def __enter__(self) -> PageTransactions:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._open is None:
            return
        stack, self._open, self._session = self._open, None, None
        if exc is None:
            stack.close()
            self.commits += 1
        else:
            stack.__exit__(kind, exc, tb)  # the session's context rolls back and re-raises; we let the original go on
