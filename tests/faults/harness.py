"""What the scenarios share: the run context, worker subprocesses, SIGKILL and connection loss."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

REPO = str(Path(__file__).resolve().parents[2])


@dataclass
class Ctx:
    """What a scenario gets: fixtures on demand, the Prefect API, a seeded random source."""

    request: pytest.FixtureRequest
    prefect_api: str
    rng: random.Random

    def fixture(self, name: str) -> Any:
        return self.request.getfixturevalue(name)


def cashrail(ctx: Ctx, *args: str) -> subprocess.Popen[str]:
    """``cashrail <args>`` as a separate worker process against the same hub store and Prefect API."""
    env = {**os.environ, "PYTHONPATH": REPO, "PREFECT_API_URL": ctx.prefect_api}
    return subprocess.Popen([sys.executable, "-m", "hub", *args], env=env, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 120) -> bool:
    """Poll ``condition`` until it holds, the process ends, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def kill_mid_run(ctx: Ctx, args: tuple[str, ...], began: Callable[[], bool], kills: int = 2) -> int:
    """Start ``cashrail <args>`` ``kills`` times and SIGKILL it at a random point after ``began()``
    holds (never before: a slow start must not turn a kill into a no-op); how many landed mid-run."""
    landed = 0
    for _ in range(kills):
        proc = cashrail(ctx, *args)
        if wait_for(began, proc):
            time.sleep(ctx.rng.uniform(0.05, 0.6))
            landed += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    return landed


def drop_hub_connections(database_url: str) -> int:
    """Terminate every other session on the hub's PostgreSQL database; how many were cut."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all())
    finally:
        engine.dispose()


@contextmanager
def repeatedly(action: Callable[[], Any], every: float) -> Iterator[None]:
    """Call ``action`` every ``every`` seconds in a background thread while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            action()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def put(client: httpx.Client | str, path: str, body: dict[str, Any]) -> None:
    """PUT an admin setting (``client`` or a base URL)."""
    if isinstance(client, str):
        httpx.put(f"{client}{path}", json=body, timeout=30).raise_for_status()
    else:
        client.put(path, json=body).raise_for_status()
