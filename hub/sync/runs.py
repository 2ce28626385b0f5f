"""A sync run's own rows: opened (one per connector at a time), linked to its Prefect flow run,
finished with its counts; and what its streams share in this process while it runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from typing import Any, Protocol, cast

from pydantic import BaseModel
from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from connectors.base import SyncSettings
from hub.platform.db import session
from hub.platform.errors import CashrailError
from hub.platform.models import Connector, StreamState, SyncRun, stored_id, table_of
from hub.platform.types import utcnow
from hub.sync import cards
from hub.sync.holder import busy_message, holds, runner_id


class SyncError(CashrailError, RuntimeError):
    """A sync that cannot start or go on, in plain words."""


class StreamMark(Protocol):
    """Where a stream stands, as a run read it when it opened (its ``StreamState`` row)."""

    @property
    def cursor(self) -> str | None: ...
    @property
    def last_completed_at(self) -> datetime | None: ...
    @property
    def last_reconciled_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class RunShared:
    """What the streams of one run share in this process, read once when the run opens: the card,
    the streams' states, and the memo of its connectors (``SourceConnector.run_memo``: it starts as
    what the card kept from its last run, ``Connector.resolved``, and is kept again at its end)."""

    card: Connector
    states: dict[str, StreamMark]
    memo: dict[str, Any]

    @cached_property
    def settings(self) -> SyncSettings:
        """The card's settings, validated once for the run's streams."""
        return cards.sync_settings_of(self.card)

    @cached_property
    def secrets(self) -> BaseModel:
        """The card's secrets, decrypted once for the run's streams (an error raised to each)."""
        return cards.secrets_of(self.card)


_shared: dict[tuple[str, int], RunShared] = {}
_lock = threading.Lock()


def begin_run(environment: str, name: str, *, full: bool, flow_run_id: str | None = None) -> SyncRun:
    """Open a sync run for an active connector; one run per connector at a time.

    The connector row is locked (``FOR UPDATE``; SQLite's write lock) while running runs are
    checked, so two runs starting at once cannot both pass: the second is refused naming the
    first, unless the first's process is gone or its heartbeat is stale (then it is taken over).
    """
    with session(environment) as s:
        card = s.exec(select(Connector).where(Connector.name == name).with_for_update()).first()
        if card is None:
            raise SyncError(f"no connector named {name!r} in {environment}")
        try:
            cards.require_syncable(card)
        except cards.CardError as exc:  # a run of a deactivated card fails as a sync
            raise SyncError(str(exc)) from None
        db = s.connection()
        if db.execute(_statements()["running"], {"env": environment, "card": card.id}).first() is not None:
            _take_over(s, card)
        run = SyncRun(
            environment=environment,
            connector_id=stored_id(card),
            flow_run_id=flow_run_id,
            mode="full" if full else "incremental",
            runner=runner_id(),
        )
        run.id = db.execute(_statements()["insert"], run.model_dump(exclude={"id"})).scalar_one()
        states = _states(s, stored_id(card))
    with _lock:
        _shared[environment, stored_id(run)] = RunShared(card, states, dict(card.resolved or {}))
    return run


def _take_over(s: Session, card: Connector) -> None:
    """The card's running runs: one still held refuses the new run, naming it; the others (their
    process gone, or silent too long) are marked interrupted."""
    now = utcnow()
    for other in s.exec(select(SyncRun).where(SyncRun.connector_id == card.id, SyncRun.status == "running")):
        if holds(other):
            raise SyncError(busy_message(s, card, other))
        other.status = "interrupted"
        other.finished_at = now
        other.error = "the process running it stopped before it finished"
        s.add(other)
    s.flush()


def shared(environment: str, run_id: int, name: str) -> RunShared:
    """What the run's streams share: as its opening read it in this process, else read now."""
    with _lock:
        found = _shared.get((environment, run_id))
    if found is not None and found.card.name == name:
        return found
    with session(environment, read_only=True) as s:
        card = cards.get(s, name)
        states = _states(s, stored_id(card))
    with _lock:
        return _shared.setdefault((environment, run_id), RunShared(card, states, dict(card.resolved or {})))


def _states(s: Session, connector_id: int) -> dict[str, StreamMark]:
    rows = s.connection().execute(_statements()["states"], {"env": s.info["environment"], "card": connector_id})
    return {row.stream: cast(StreamMark, row) for row in rows}  # the rows as read: no model built per stream


@cache
def _statements() -> dict[str, Any]:
    """A run's own statements, built once: plain statements by key, as the ORM's load, flush and
    refresh (and building each statement anew) cost a run that finds nothing to fetch more than
    its rows do (``bench/RESULTS.md``, issue 21)."""
    runs, states = table_of(SyncRun), table_of(StreamState)
    return {
        "running": core_select(runs.c.id).where(runs.c.environment == bindparam("env"),
                                                runs.c.connector_id == bindparam("card"), runs.c.status == "running").limit(1),
        "insert": insert(runs).returning(runs.c.id),
        "states": core_select(states).where(states.c.environment == bindparam("env"),
                                            states.c.connector_id == bindparam("card")),
        "card": core_select(runs.c.connector_id).where(runs.c.id == bindparam("run")).scalar_subquery(),
    }


#: the counts that say a run changed the hub (``StreamCounts``): what it fetched and found unchanged does not
CHANGES = ("inserted", "updated", "deleted", "quarantined")


def changed_anything(counts: dict[str, dict[str, int]]) -> bool:
    """Whether a run's streams changed anything in the hub: a run that only found what it had is
    told by its log line and its hub run, and keeps no table in Prefect (a scheduled sync finds
    nothing most of the time; its artifact history is the history of what changed)."""
    return any(stream.get(name) for stream in counts.values() for name in CHANGES)


def link_flow_run(environment: str, run_id: int, flow_run_id: str | None) -> None:
    """The sync run linked to the Prefect flow run it runs in, once that one exists."""
    with session(environment) as s:
        s.connection().execute(update(SyncRun).where(col(SyncRun.id) == run_id).values(flow_run_id=flow_run_id))


def finish_run(environment: str, run_id: int, counts: dict[str, dict[str, int]], error: str | None = None,
               *, flow_run_id: str | None = None) -> None:
    """The run ended: its status, error and counts (and its Prefect flow run, when not linked yet)."""
    with _lock:
        ran = _shared.pop((environment, run_id), None)
    now = utcnow()
    runs, connectors = table_of(SyncRun), table_of(Connector)
    done: dict[str, Any] = {"status": "failed" if error else "completed", "error": error, "counts": counts,
                            "finished_at": now}
    if flow_run_id:
        done["flow_run_id"] = flow_run_id
    card: dict[str, Any] = {"last_error": error, **({} if error else {"last_sync_at": now})}
    if ran is not None and ran.memo != (ran.card.resolved or {}):
        card["resolved"] = ran.memo or None  # what the run found out (or dropped as gone) for the next one
    with session(environment) as s:  # plain statements by key, as begin_run's
        db = s.connection()
        db.execute(update(runs).where(runs.c.id == run_id, runs.c.environment == environment).values(done))
        card_id = ran.card.id if ran is not None else _statements()["card"]  # else found by the run
        db.execute(update(connectors).where(connectors.c.id == card_id, connectors.c.environment == environment)
                   .values(card), {"run": run_id})
