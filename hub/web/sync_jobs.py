"""Sync Now from the web: the sync-connector flow in a background thread, polled for its status."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from hub.platform.redact import scrub
from hub.platform.types import utcnow
from hub.sync import cards, holder
from hub.web import queries
from hub.web.auth import Actor


@dataclass
class SyncJob:
    state: str = "starting"  # starting | running | completed | failed
    started_at: str = field(default_factory=lambda: utcnow().isoformat())
    error: str | None = None
    streams: dict[str, dict[str, int]] = field(default_factory=dict)


class SyncJobs:
    """This app's Sync Now runs, by environment and connector.

    The flow itself refuses a second sync of a connector (in any process); this registry only
    tells the page what its own runs are doing.
    """

    def __init__(self) -> None:
        self._jobs: dict[tuple[str, str], SyncJob] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self, actor: Actor, name: str, *, full: bool = False) -> SyncJob:
        with actor.session() as s:
            card = cards.get(s, name)
            cards.require_syncable(card)
            busy = holder.live_run(s, card)
            if busy is not None:  # e.g. a scheduled run: named, with how far it got
                raise cards.CardError(holder.busy_message(s, card, busy))
        key = (actor.environment, name)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.state in {"starting", "running"}:
                raise cards.CardError(f"a sync of {name!r} is already running")
            job = self._jobs[key] = SyncJob()
        thread = threading.Thread(target=self._run, args=(job, actor.environment, name, full),
                                  name=f"sync-now-{name}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job

    @staticmethod
    def _run(job: SyncJob, environment: str, name: str, full: bool) -> None:
        from hub.sync import now

        job.state = "running"
        try:  # through the card's deployment under `cashrail serve`, else in this process
            summary = now.sync(name, environment, full=full)
        except Exception as exc:  # shown on the card; the run's record keeps the details
            job.state, job.error = "failed", scrub(f"{type(exc).__name__}: {exc}")
            return
        job.streams, job.state = summary["streams"], "completed"

    def status(self, actor: Actor, name: str) -> dict[str, Any]:
        """The job (if this app started one), the latest run and the hub's rows per stream."""
        with actor.session() as s:
            view = queries.card_view(s, cards.get(s, name))
        job = self._jobs.get((actor.environment, name))
        running = job is not None and job.state in {"starting", "running"}
        if job is None:
            state = view["last_run"]["status"] if view["last_run"] else "never"
        else:
            state = job.state
        return {"connector": name, "state": state, "running": running, "error": job.error if job else None,
                "last_run": view["last_run"], "in_hub": view["in_hub"], "last_sync": view["last_sync"]}

    def join(self, timeout: float = 30.0) -> None:
        """Wait for the running syncs (app shutdown, tests)."""
        for thread in list(self._threads):
            thread.join(timeout)


def sync_jobs(request: Request) -> SyncJobs:
    """The app's one registry (``create_app`` puts it in the app's state)."""
    jobs: SyncJobs = request.app.state.sync_jobs
    return jobs
