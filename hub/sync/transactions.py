"""A stream's pages stored several to a transaction: committed about once a second, and
whenever the next page is not there yet (on PostgreSQL; on SQLite, whose one write lock an open
transaction holds, every page commits: see ``SQLITE_COMMIT_EVERY``).

Each commit of a page costs the same whatever its size (on SQLite: taking the write lock, and
writing the b-tree pages the page touched to the WAL again), so pages that arrive back to back
share one. The cursor moves only when the walk completes, so a kill that loses the open
transaction loses nothing the next run does not read again; and a transaction never stays open
while the stream waits for the source (nor when the source failed: what was stored is kept), so
it holds no other stream's writes back meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType

from sqlmodel import Session

from hub.platform.db import session

#: seconds after which an open transaction commits, even with the next page ready
COMMIT_EVERY = 1.0
#: the same on SQLite, where an open transaction holds the database's one write lock: a stream
#: keeping it across pages holds back every other stream's store, which cost more than the
#: commits it saved (ERP at 10k records: 1.43x the floor against 1.21x per page, same load)
SQLITE_COMMIT_EVERY = 0.0


class PageTransactions:
    """Use as a context manager around a stream's walk: ``current()`` is the open transaction's
    session (begun on first use), ``page_done()`` commits it when due; leaving commits what is
    open, or rolls it back when an error leaves."""

    def __init__(self, environment: str, *, next_ready: Callable[[], bool], every: float | None = None,
                 walk_ended: Callable[[], bool] = lambda: False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``every``: the commit interval (default: by the store's engine, see ``SQLITE_COMMIT_EVERY``);
        ``walk_ended``: whether the source has no page left, so the walk's completion (its deletes,
        its cursor) follows at once and shares the last page's transaction."""
        self.environment, self._next_ready, self._clock = environment, next_ready, clock
        self._walk_ended = walk_ended
        self._every = every
        self._open: ExitStack | None = None
        self._session: Session | None = None
        self._began = 0.0
        self.commits = 0

    def current(self) -> Session:
        if self._session is None:
            self._open = ExitStack()
            self._session = self._open.enter_context(session(self.environment))
            self._began = self._clock()
            if self._every is None:
                sqlite = self._session.get_bind().dialect.name == "sqlite"
                self._every = SQLITE_COMMIT_EVERY if sqlite else COMMIT_EVERY
        return self._session

    def page_done(self) -> None:
        """A page is stored: commit unless the next one is waiting and the transaction is young, or
        the walk has ended (its completion commits with the last page: one write transaction less
        per stream, which on SQLite is one turn less at the write lock the streams share)."""
        if self._session is None or self._walk_ended():
            return
        if not self._next_ready() or self._clock() - self._began >= (self._every or 0):
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
