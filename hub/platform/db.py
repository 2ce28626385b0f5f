"""Engines, schema upgrades and environment-scoped sessions.

A session is opened for exactly one environment. Every ORM query it runs is filtered to
that environment, and flushing a row of another environment is refused, so no query can
cross from sandbox into production or back.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any, cast

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session, col

from hub.platform import redact
from hub.platform.errors import CashrailError
from hub.platform.models import EnvScoped
from hub.platform.settings import ENVIRONMENTS, Settings, get_settings, private_dir

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
redact.install()  # every flush and log record of a process that opens the store is scrubbed

_engines: dict[str, Engine] = {}
_readers: dict[Engine, Engine] = {}  # each engine's read-only twin (see session)
_upgraded: set[str] = set()
#: per settings object served an upgraded engine (kept with it, so its id is never reused): a
#: session opens with no file checked again (each check a system call that lets the GIL go)
_served: dict[int, tuple[Settings, Engine]] = {}
_lock = threading.Lock()


class _WriteLockQueue:
    """How many of this process's threads are waiting for an SQLite store's one write lock
    (in its ``BEGIN IMMEDIATE``), per engine: a writer that holds it across statements (a sync
    stream's pages) lets it go when another waits (``hub.sync.transactions``)."""

    def __init__(self) -> None:
        self._waiting: dict[Engine, int] = {}
        self._guard = threading.Lock()

    def add(self, engine: Engine, amount: int) -> None:
        with self._guard:
            count = self._waiting.get(engine, 0) + amount
            if count:
                self._waiting[engine] = count
            else:  # no engine kept alive by the count (stores are disposed and made again)
                del self._waiting[engine]

    def waiting(self, engine: Engine) -> int:
        return self._waiting.get(engine, 0)


_write_queue = _WriteLockQueue()

#: seconds a writer waits for the store's write lock before failing as SQLite's busy timeout does
WRITE_LOCK_TIMEOUT = 60.0


class _TurnTakingConnection(sqlite3.Connection):
    """An SQLite connection whose write transactions take turns with the process's other threads
    at a lock of their own before ``BEGIN IMMEDIATE``: the one waiting goes on as the last one
    commits, where SQLite's busy handler polls after 1, 2, 5, 10… ms (a no-change sync's five
    streams, each a ~2 ms write, waited up to 10 ms each; ``bench/RESULTS.md``, issue 21). Other
    processes are still waited for by SQLite's busy timeout."""

    turns: threading.Lock | None = None  # the store's, set when connected
    holds = False  # in a write transaction, holding ``turns``

    def take_turn(self) -> None:
        assert self.turns is not None
        if not self.turns.acquire(timeout=WRITE_LOCK_TIMEOUT):
            raise sqlite3.OperationalError("database is locked")
        self.holds = True

    def end_turn(self) -> None:
        if self.holds:
            self.holds = False
            assert self.turns is not None
            self.turns.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()


def writers_waiting(bind: Engine | Connection) -> int:
    """Threads of this process waiting for the write lock of ``bind``'s store now (SQLite; 0 elsewhere)."""
    return _write_queue.waiting(bind.engine)


class WrongEnvironmentError(CashrailError, RuntimeError):
    """A row of one environment was about to be written through another's session."""

    status = 500


def _json(value: Any) -> str:
    """JSON columns' encoder (orjson: synced payloads arrive pre-encoded as ``orjson.Fragment``)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": WRITE_LOCK_TIMEOUT,
                                                  "factory": _TurnTakingConnection}, json_serializer=_json)
        turns = threading.Lock()

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.turns = turns
            # Manage transactions ourselves so every one starts with BEGIN IMMEDIATE: a
            # deferred transaction that reads first cannot upgrade to a write lock while
            # another sync stream writes (SQLITE_BUSY without waiting).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # a read-only session's reads need no write lock: in WAL they see a snapshot and
            # never wait for (nor hold up) a writer
            if conn.get_execution_options().get(_READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            dbapi_conn = conn.connection.dbapi_connection
            _write_queue.add(engine, 1)
            try:
                dbapi_conn.take_turn()
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                except BaseException:
                    dbapi_conn.end_turn()
                    raise
            finally:
                _write_queue.add(engine, -1)

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, json_serializer=_json)


def get_engine(settings: Settings | None = None, *, upgrade: bool = True) -> Engine:
    """The engine for the configured hub store, upgraded to the latest schema once."""
    settings = settings or get_settings()
    if (served := _served.get(id(settings))) is not None:
        return served[1]
    redact.remember([settings.secret_key, settings.smtp_password])
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        private_dir(settings.data_dir)
        with suppress(FileExistsError):  # the store is its owner's alone (0600), before SQLite opens it
            os.close(os.open(settings.sqlite_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _make_engine(url)
        if upgrade and url not in _upgraded:
            upgrade_schema(engine)
            _upgraded.add(url)
        if url in _upgraded:
            _served[id(settings)] = (settings, engine)
    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (commands call this; nobody runs alembic by hand)."""
    command.upgrade(alembic_config(engine), revision)


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _readers.clear()
        _upgraded.clear()
        _served.clear()


#: the execution option that marks a read-only session's connection
_READ_ONLY = "cashrail_read_only"


@contextmanager
def session(environment: str, engine: Engine | None = None, *, role: str = "Administrator",
            read_only: bool = False) -> Iterator[Session]:
    """A session bound to one environment (and the role acting); commits on success, rolls back on error.

    ``read_only`` sessions only read: on SQLite they begin without taking the write lock (every
    other transaction takes it at once, so that none fails to upgrade mid-way), so the reads a
    sync's concurrent streams make between their pages never queue behind another's writes. A
    write in one may fail as the database being busy.
    """
    if environment not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {environment!r}; expected one of {', '.join(ENVIRONMENTS)}")
    bind = engine or get_engine()
    with Session(_reader(bind) if read_only else bind, expire_on_commit=False) as s:
        s.info["environment"] = environment
        s.info["role"] = role
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise


def _reader(engine: Engine) -> Engine:
    """The engine's read-only twin (same pool and events), made once per engine."""
    with _lock:
        found = _readers.get(engine)
        if found is None:
            found = _readers[engine] = engine.execution_options(**{_READ_ONLY: True})
        return found


@cache
def _env_scoped_tables() -> tuple[type[EnvScoped], ...]:
    """Every mapped table class with an environment column."""
    found: list[type[EnvScoped]] = []
    pending: list[type[EnvScoped]] = [EnvScoped]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if hasattr(sub, "__table__"):
                found.append(sub)
    return tuple(found)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_environment(state: ORMExecuteState) -> None:
    env = state.session.info.get("environment")
    if env is None or not (state.is_select or state.is_update or state.is_delete):
        return
    # only the env-scoped tables the statement reads or writes (its subqueries, joins and aliases
    # with it): each criterion is walked for the statement's cache key on every execution, and all
    # 36 of them made an ORM query cost twice what it does without (``bench/RESULTS.md``, issue 21)
    criteria = _environment_criteria(env)
    found = [criteria[t] for t in find_tables(cast(ClauseElement, state.statement), check_columns=True, include_aliases=True,
                                              include_joins=True, include_selects=True, include_crud=True)
             if isinstance(t, Table) and t in criteria]
    if found:
        state.statement = state.statement.options(*dict.fromkeys(found))


@cache
def _environment_criteria(environment: str) -> dict[Table, Any]:
    """The loader criterion keeping each env-scoped table to one environment (built once each)."""
    return {cls.__table__: with_loader_criteria(cls, col(cls.environment) == environment, include_aliases=True)  # type: ignore[attr-defined]
            for cls in _env_scoped_tables()}


@event.listens_for(Session, "before_flush")
def _refuse_foreign_rows(s: Session, _ctx: Any, _instances: Any) -> None:
    env = s.info.get("environment")
    if env is None:
        return
    for obj in list(s.new) + list(s.dirty):
        if isinstance(obj, EnvScoped) and obj.environment != env:
            raise WrongEnvironmentError(
                f"{type(obj).__name__} belongs to {obj.environment!r}, not to this {env!r} session"
            )
