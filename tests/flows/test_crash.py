"""Crash safety: syncs killed with SIGKILL at random points, then completed, leave the hub
exactly equal to the sandbox — also after records change and disappear between runs."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from connectors.sandbox.bms import SandboxServer
from hub.platform.db import session
from hub.platform.models import SyncRun
from hub.sync import cards
from tests import factories
from tests.bms_helpers import assert_hub_equals_sandbox

KILLS_PER_ROUND = 4


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxServer]:
    # Enough latency per request that a sync lasts seconds and kills land mid-page (the sync
    # reads pages ahead, so a faster sandbox would let it finish before the first kill).
    with SandboxServer(records=800, seed=99, latency_ms=12, time_zone="Europe/Berlin") as server:
        yield server


def _sync_cmd() -> list[str]:
    return [sys.executable, "-m", "hub", "sync", "psa", "--json"]


def _env(prefect_api: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(("CASHRAIL_", "PATH", "HOME", "LANG"))}
    return {**env, "PREFECT_API_URL": prefect_api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def _kill_round(rng: random.Random, prefect_api: str, connector_id: int, within: float = 3.0) -> None:
    """Start a sync and SIGKILL it at a random point after its run began (not before: a slow
    process start on a loaded machine must not turn the kill into a no-op), up to ``within`` s."""
    for _ in range(KILLS_PER_ROUND):
        before = len(_runs(connector_id))
        proc = subprocess.Popen(_sync_cmd(), env=_env(prefect_api), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(_runs(connector_id)) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(rng.uniform(0.05, within))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def _complete(prefect_api: str) -> str:
    done = subprocess.run(_sync_cmd(), env=_env(prefect_api), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _runs(connector_id: int) -> list[SyncRun]:
    with session("sandbox") as s:
        return list(s.exec(select(SyncRun).where(SyncRun.connector_id == connector_id).order_by(SyncRun.id)))


@pytest.mark.slow
def test_sync_killed_at_random_points_then_completed_leaves_hub_equal_to_sandbox(
    hub_db: str, prefect_backend: str, slow_sandbox: SandboxServer
) -> None:
    rng = random.Random(int(os.environ.get("CASHRAIL_CRASH_SEED", "20261123")))
    # one request in flight (list pages and invoice details): each run lasts long enough for a kill
    # to land in it, the reconciling runs after the first included (they read every page again)
    card = factories.bms_card(url=slow_sandbox.url, time_zone="Europe/Berlin", rate_limit_per_hour=0,
                              page_size=40, reconcile_hours=0, detail_concurrency=1)
    with session("sandbox") as s:
        cards.set_status(s, "psa", "active")

    _kill_round(rng, prefect_api=prefect_backend, connector_id=card.id)  # type: ignore[arg-type]
    _complete(prefect_api=prefect_backend)
    assert_hub_equals_sandbox(slow_sandbox.url, "sandbox", card.id)

    admin = f"{slow_sandbox.url}/_admin/records"
    for i in range(1, 6):
        httpx.patch(f"{admin}/accounts/{i}", json={"AccountName": f"Changed {i}"}).raise_for_status()
        httpx.patch(f"{admin}/invoices/{i * 7}", json={"TotalTax": 3.25}).raise_for_status()
        httpx.delete(f"{admin}/contacts/{i * 11}").raise_for_status()
        httpx.delete(f"{admin}/invoices/{i * 13}").raise_for_status()
        httpx.post(f"{admin}/tickets", json={"Title": f"Raised {i}", "AccountId": i}).raise_for_status()

    # a reconciling run with little changed lasts about a second: the kills come sooner
    _kill_round(rng, prefect_api=prefect_backend, connector_id=card.id, within=0.8)  # type: ignore[arg-type]
    _complete(prefect_api=prefect_backend)
    assert_hub_equals_sandbox(slow_sandbox.url, "sandbox", card.id)

    runs = _runs(card.id)  # type: ignore[arg-type]
    interrupted = [r for r in runs if r.status == "interrupted"]
    assert len(interrupted) >= 2, f"kills should land mid-sync; statuses: {[r.status for r in runs]}"
    assert runs[-1].status == "completed"
