"""Sync health per connector card, as the home page shows it: the last run and its age, the failed
runs since the last good one, quarantined rows, a run that stopped beating, the next scheduled run.

The next run is the one Prefect has scheduled for the card's deployment when `cashrail serve`
runs; otherwise the card's cadence from its last run (marked as not scheduled).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from connectors.registry import connector_class
from hub.platform.models import Connector, QuarantinedRecord, SyncRun, stored_id
from hub.platform.served import UI_PATH, Served, recorded
from hub.platform.types import utcnow
from hub.sync import cards, schedule
from hub.sync.holder import STALE_AFTER

log = logging.getLogger(__name__)

#: how long the home page waits for Prefect's schedule before showing the cadence instead
PREFECT_TIMEOUT_S = 0.5


def run_link(flow_run_id: str | None) -> str | None:
    """The run in the Prefect UI the admin app serves (``/prefect/``), when the run has a Prefect id."""
    return f"{UI_PATH}/runs/flow-run/{flow_run_id}" if flow_run_id else None


@dataclass(frozen=True)
class CardHealth:
    name: str
    kind: str
    status: str
    syncs: bool
    last_error: str | None
    last_run: dict[str, Any] | None
    age: timedelta | None  # since the last run finished (or started, while it runs)
    failures: int  # failed or interrupted runs since the last completed one
    quarantined: int
    stuck: bool  # a run still "running" whose heartbeat stopped
    next_run: datetime | None
    next_run_scheduled: bool  # next_run comes from Prefect's schedule (else from the cadence)

    @property
    def healthy(self) -> bool:
        return not (self.last_error or self.failures or self.stuck or self.quarantined) and self.status == "active"


def _scheduled(served: Served | None, environment: str, names: list[str]) -> dict[str, datetime]:
    """Per card, the next run Prefect has scheduled for its sync deployment ({} when nothing serves)."""
    if served is None or not names:
        return {}
    wanted = {f"{environment}-{n}": n for n in names}
    try:
        deployments = httpx.post(f"{served.api_url}/deployments/filter", headers=served.auth_header(),
                                 timeout=PREFECT_TIMEOUT_S,
                                 json={"deployments": {"name": {"any_": list(wanted)}}}).json()
        by_id = {d["id"]: wanted[d["name"]] for d in deployments if d.get("name") in wanted}
        if not by_id:
            return {}
        runs = httpx.post(f"{served.api_url}/flow_runs/filter", headers=served.auth_header(), timeout=PREFECT_TIMEOUT_S,
                          json={"flow_runs": {"deployment_id": {"any_": list(by_id)},
                                              "state": {"type": {"any_": ["SCHEDULED"]}}},
                                "sort": "EXPECTED_START_TIME_ASC", "limit": 200}).json()
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.info("the Prefect schedule could not be read (%s); the home page shows each card's cadence", exc)
        return {}
    found: dict[str, datetime] = {}
    for run in runs:
        name = by_id.get(run.get("deployment_id"))
        when = run.get("expected_start_time") or run.get("next_scheduled_start_time")
        if name and when and name not in found:
            found[name] = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return found


def card_health(s: Session, *, now: datetime | None = None, served: Served | None = None) -> list[CardHealth]:
    """Every card of the session's environment with its sync health, by name."""
    now = now or utcnow()
    all_cards = cards.all_cards(s)
    served = served if served is not None else recorded()
    syncing = [c.name for c in all_cards if c.status == "active" and connector_class(c.kind).streams]
    scheduled = _scheduled(served, s.info["environment"], syncing)
    quarantined = dict(s.exec(select(QuarantinedRecord.connector_id, func.count()).group_by(
        col(QuarantinedRecord.connector_id))).all())
    return [_health(s, card, now, quarantined.get(stored_id(card), 0), scheduled.get(card.name)) for card in all_cards]


def _health(s: Session, card: Connector, now: datetime, quarantined: int, scheduled: datetime | None) -> CardHealth:
    runs = list(s.exec(select(SyncRun).where(SyncRun.connector_id == card.id)
                       .order_by(col(SyncRun.id).desc()).limit(50)))
    last = runs[0] if runs else None
    failures = 0
    for run in runs:
        if run.status == "completed":
            break
        if run.status in ("failed", "interrupted"):
            failures += 1
    stuck = last is not None and last.status == "running" and now - last.heartbeat_at > STALE_AFTER
    syncs = bool(connector_class(card.kind).streams)
    next_run = scheduled
    if next_run is None and syncs and card.status == "active":
        next_run = schedule.next_after(dict(card.settings or {}), last.started_at) if last is not None else None
    return CardHealth(
        name=card.name, kind=card.kind, status=card.status, syncs=syncs, last_error=card.last_error,
        last_run=None if last is None else {
            "id": last.id, "status": last.status, "started": last.started_at, "finished": last.finished_at,
            "error": last.error, "prefect_url": run_link(last.flow_run_id)},
        age=None if last is None else now - (last.finished_at or last.started_at),
        failures=failures, quarantined=quarantined, stuck=stuck, next_run=next_run,
        next_run_scheduled=scheduled is not None)
