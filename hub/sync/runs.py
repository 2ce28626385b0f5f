"""A sync run's own rows: opened (one per connector at a time), linked to its Prefect flow run,
finished with its counts; and what its streams share in this process while it runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from hub.platform.db import session
from hub.platform.errors import CashrailError
from hub.platform.models import Connector, StreamState, SyncRun, stored_id
from hub.platform.types import utcnow
from hub.sync import cards
from hub.sync.holder import busy_message, holds, runner_id


class SyncError(CashrailError, RuntimeError):
    """A sync that cannot start or go on, in plain words."""


@dataclass(frozen=True)
class RunShared:
    """What the streams of one run share in this process, read once when the run opens: the card,
    the streams' states, and the memo of its connectors (``SourceConnector.run_memo``: it starts as
    what the card kept from its last run, ``Connector.resolved``, and is kept again at its end)."""

    card: Connector
    states: dict[str, StreamState]
    memo: dict[str, Any]


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
        now = utcnow()
        for other in s.exec(select(SyncRun).where(SyncRun.connector_id == card.id, SyncRun.status == "running")):
            if holds(other):
                raise SyncError(busy_message(s, card, other))
            other.status = "interrupted"
            other.finished_at = now
            other.error = "the process running it stopped before it finished"
            s.add(other)
        run = SyncRun(
            environment=environment,
            connector_id=stored_id(card),
            flow_run_id=flow_run_id,
            mode="full" if full else "incremental",
            runner=runner_id(),
        )
        s.add(run)
        s.flush()
        states = _states(s, stored_id(card))
    with _lock:
        _shared[environment, stored_id(run)] = RunShared(card, states, dict(card.resolved or {}))
    return run


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


def _states(s: Session, connector_id: int) -> dict[str, StreamState]:
    return {state.stream: state for state in s.exec(select(StreamState).where(StreamState.connector_id == connector_id))}


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
    with session(environment) as s:
        run = s.get(SyncRun, run_id)
        assert run is not None
        run.status = "failed" if error else "completed"
        run.error = error
        run.counts = counts
        run.finished_at = utcnow()
        run.flow_run_id = flow_run_id or run.flow_run_id
        s.add(run)
        card = s.get(Connector, run.connector_id)
        if card is not None:
            if not error:
                card.last_sync_at = run.finished_at
            card.last_error = error
            if ran is not None and ran.memo != (card.resolved or {}):
                card.resolved = ran.memo or None  # what the run found out (or dropped as gone) for the next one
            s.add(card)
