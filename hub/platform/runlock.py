"""One run at a time per job and environment: a PostgreSQL advisory lock, or a file lock beside
a SQLite hub store. A run that loses its lock with its database connection stops.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from hub.platform.db import get_engine
from hub.platform.errors import CashrailError
from hub.platform.settings import get_settings as get_hub_settings


class RunLockLost(CashrailError, RuntimeError):
    """The run's lock went with its database connection: another run may hold it now."""

    status = 500


@dataclass
class RunLock:
    """Whether a run holds its job's lock (truthy when taken); :meth:`check` says it still does."""

    taken: bool
    connection: Connection | None = None  # the PostgreSQL session holding the advisory lock

    def __bool__(self) -> bool:
        return self.taken

    def check(self) -> None:
        """Raise :class:`RunLockLost` if the lock's connection was cut (a file lock cannot be lost)."""
        if self.connection is None:
            return
        if not self.connection.invalidated:
            try:
                self.connection.execute(text("SELECT 1"))
                return
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
        raise RunLockLost("the run lost its lock with its database connection; stopping before "
                          "anything else is sent (the next run sends the rest)")


@contextmanager
def run_lock(job: str, environment: str) -> Iterator[RunLock]:
    """Hold the lock of ``job`` in ``environment`` if it is free (yields a :class:`RunLock`, true
    when taken): a PostgreSQL advisory lock, or a file lock beside a SQLite hub store."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"cashrail:{job}:{environment}".encode())
        with engine.connect() as conn:
            taken = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            try:
                yield RunLock(taken, conn if taken else None)
            finally:
                if taken and not conn.invalidated:  # else the lock went with the connection
                    try:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    except DBAPIError as exc:
                        if not exc.connection_invalidated:
                            raise
        return
    path = get_hub_settings().data_dir / f"{job}-{environment}.lock"
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield RunLock(False)
            return
        try:
            yield RunLock(True)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
