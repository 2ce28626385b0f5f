"""``cashrail demo`` and ``cashrail sandbox``: the bundled BMS sandbox as a local process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select

from connectors.registry import connector_class
from hub import cards
from hub.db import session
from hub.models import ENTITY_TABLES
from hub.settings import get_settings

DEMO_CONNECTOR = "demo-psa"
DEMO_ENVIRONMENT = "sandbox"
#: hub stream -> the sandbox's name for it in /_admin/counts
SANDBOX_STREAMS = {
    "organisations": "accounts",
    "contacts": "contacts",
    "contracts": "contracts",
    "tickets": "tickets",
    "invoices": "invoices",
}


class SandboxStartError(RuntimeError):
    pass


@dataclass(frozen=True)
class SandboxInfo:
    url: str
    company: str
    username: str
    password: SecretStr
    time_zone: str
    pid: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any], pid: int | None = None) -> SandboxInfo:
        return cls(data["url"], data["company"], data["username"], SecretStr(data["password"]),
                   data.get("time_zone", "UTC"), pid)


def _state_file() -> Path:
    return get_settings().data_dir / "sandbox.json"


def stop_background_sandbox() -> bool:
    """Stop the sandbox a previous demo left running; True when one was stopped."""
    path = _state_file()
    if not path.exists():
        return False
    try:
        pid = int(json.loads(path.read_text())["pid"])
        os.kill(pid, signal.SIGTERM)
        stopped = True
    except (ProcessLookupError, KeyError, ValueError, json.JSONDecodeError):
        stopped = False
    path.unlink(missing_ok=True)
    return stopped


def start_background_sandbox(records: int, seed: int, timeout: float = 120.0) -> SandboxInfo:
    """Start the BMS sandbox as a detached process that outlives this command."""
    stop_background_sandbox()
    data_dir = get_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "sandbox.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connectors.sandbox.bms", "--records", str(records), "--seed", str(seed), "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxStartError(f"the sandbox exited at start (see {log})")
        first = log.read_text().splitlines()[:1]
        if first and first[0].startswith("{"):
            data = json.loads(first[0])
            info = SandboxInfo.from_json(data, proc.pid)
            _state_file().write_text(json.dumps({"pid": proc.pid, "url": info.url}))
            os.chmod(_state_file(), 0o600)
            return info
        time.sleep(0.1)
    proc.terminate()
    raise SandboxStartError(f"the sandbox did not start within {timeout:.0f}s (see {log})")


def sandbox_counts(url: str) -> dict[str, int]:
    """What the sandbox serves, per hub stream."""
    counts = httpx.get(f"{url}/_admin/counts", timeout=30).json()
    return {stream: int(counts[key]) for stream, key in SANDBOX_STREAMS.items()}


def hub_counts(environment: str, connector_name: str) -> dict[str, int]:
    """Live (not deleted) rows per stream of one connector."""
    with session(environment) as s:
        card = cards.get(s, connector_name)
        result = {}
        for spec in connector_class(card.kind).streams:
            t = ENTITY_TABLES[spec.entity].__table__
            result[spec.name] = s.connection().execute(
                select(func.count()).select_from(t).where(
                    t.c.environment == environment, t.c.connector_id == card.id, t.c.is_deleted.is_(False)
                )
            ).scalar_one()
        return result


def install_demo_connector(info: SandboxInfo) -> None:
    """(Re)create the demo connector card for this sandbox and activate it."""
    with session(DEMO_ENVIRONMENT) as s:
        try:
            cards.delete(s, DEMO_CONNECTOR)
        except cards.CardError:
            pass
    spec = cards.CardSpec(
        name=DEMO_CONNECTOR,
        kind="bms",
        environment=DEMO_ENVIRONMENT,
        settings={
            "company": info.company,
            "username": info.username,
            "server_url": info.url,
            "time_zone": info.time_zone,
            "page_size": 500,
            "rate_limit_per_hour": 0,  # a loopback sandbox has no hourly quota
            "detail_concurrency": 8,
        },
        secrets={"password": info.password},
    )
    with session(DEMO_ENVIRONMENT) as s:
        cards.create(s, spec)
