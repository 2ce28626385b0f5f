"""Who holds a connector card: the live sync run, named so that a Sync Now refused because of it
says what is running (id, how it started, when, how far it got) and what to do — or waits for it."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import Session, col, select

from connectors.registry import connector_class
from hub.platform.db import session
from hub.platform.models import Connector, StreamState, SyncRun
from hub.platform.types import utcnow

#: a running sync whose heartbeat is older than this is taken as dead
STALE_AFTER = timedelta(minutes=5)


def runner_id() -> str:
    """``host:pid`` of this process, as a run records who runs it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def alive(runner: str | None) -> bool:
    """Whether the process that runs a sync may still be running (on another machine only the
    heartbeat can tell)."""
    host, _, pid = (runner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holds(run: SyncRun) -> bool:
    """Whether a running run still holds its card: its process lives and its heartbeat is fresh."""
    return run.status == "running" and alive(run.runner) and utcnow() - run.heartbeat_at < STALE_AFTER


def live_run(s: Session, card: Connector) -> SyncRun | None:
    """The run that holds the card now, or None."""
    runs = s.exec(select(SyncRun).where(SyncRun.connector_id == card.id, SyncRun.status == "running")
                  .order_by(col(SyncRun.id)))
    return next((r for r in runs if holds(r)), None)


def progress(s: Session, card: Connector, run: SyncRun) -> str:
    """How far the run got: the streams it has read into, of the card's streams."""
    streams = [spec.name for spec in connector_class(card.kind).streams]
    touched = set(s.exec(select(StreamState.stream).where(StreamState.connector_id == card.id,
                                                          StreamState.last_run_id == run.id)))
    read = [name for name in streams if name in touched]
    return f"{len(read)} of {len(streams)} streams reached" + (f" ({', '.join(read)})" if read else "")


def busy_message(s: Session, card: Connector, run: SyncRun) -> str:
    """The refusal of a second sync of the card, naming the run that holds it and what to do."""
    how = "a Prefect flow run " + run.flow_run_id if run.flow_run_id else "in process"
    return (f"a sync of {card.name!r} is already running (run {run.id} on {run.runner}, {run.mode}, {how}, "
            f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC, {progress(s, card, run)}); "
            f"wait for it with `cashrail sync {card.name} --wait`, or try again when it has finished")


def wait_until_free(environment: str, name: str, *, poll_seconds: float = 1.0, timeout: float | None = None,
                    waiting: Callable[[str], None] | None = None) -> int | None:
    """Wait while a run holds the card; the id of the run waited for (None when it was free).
    ``waiting`` hears the busy message once. A run that dies or goes silent frees the card.

    Raises:
        TimeoutError: the card was still held after ``timeout`` seconds.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    waited: int | None = None
    while True:
        with session(environment) as s:
            card = s.exec(select(Connector).where(Connector.name == name)).first()
            run = live_run(s, card) if card is not None else None
            if run is None:
                return waited
            if waited is None and waiting is not None and card is not None:
                waiting(busy_message(s, card, run))
            waited = run.id
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"run {waited} still holds {name!r} after {timeout:.0f} s")
        time.sleep(poll_seconds)
