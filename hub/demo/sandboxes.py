"""The bundled sandboxes as detached background processes (``cashrail demo``, the benchmarks),
and a client for their ``/_admin`` controls."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from hub.demo.systems import SANDBOX_MODULES
from hub.platform.errors import CashrailError
from hub.platform.settings import get_settings


class SandboxStartError(CashrailError, RuntimeError):
    """A sandbox exited or did not answer at start; the message names its log."""


def _state_file() -> Path:
    return get_settings().data_dir / "sandboxes.json"


def running() -> dict[str, Any]:
    """The sandboxes started in the background: kind -> its process id and startup line (URL, credentials)."""
    try:
        return dict(json.loads(_state_file().read_text()))
    except (OSError, ValueError):
        return {}


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, PermissionError, ValueError, TypeError):
        return False
    return True


def alive_sandboxes() -> dict[str, dict[str, Any]]:
    """The background sandboxes whose process still runs: kind -> URL and credentials (no process id)."""
    return {kind: {k: v for k, v in entry.items() if k != "pid"}
            for kind, entry in running().items() if isinstance(entry, dict) and _alive(entry.get("pid"))}


def stop_background_sandboxes() -> list[str]:
    """Stop the sandboxes a previous demo left running; returns the kinds stopped."""
    stopped = []
    for kind, entry in running().items():
        try:
            os.kill(int(entry["pid"]), signal.SIGTERM)
            stopped.append(kind)
        except (ProcessLookupError, KeyError, ValueError, TypeError):
            pass
    _state_file().unlink(missing_ok=True)
    return stopped


def start_background_sandbox(kind: str, records: int, seed: int, timeout: float = 180.0) -> dict[str, Any]:
    """Start a sandbox as a detached process that outlives this command; returns its info line."""
    data_dir = get_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"sandbox-{kind}.log"
    args = [sys.executable, "-m", SANDBOX_MODULES[kind], "--records", str(records), "--seed", str(seed), "--port", "0"]
    if kind == "business_central":
        args += ["--cert-dir", str((data_dir / "bc-sandbox-tls").resolve())]
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxStartError(f"the {kind} sandbox exited at start (see {log})")
        first = log.read_text().splitlines()[:1]
        if first and first[0].startswith("{"):
            info = json.loads(first[0])
            state = {**running(), kind: {"pid": proc.pid, **info}}
            _state_file().write_text(json.dumps(state))
            os.chmod(_state_file(), 0o600)
            return dict(info)
        time.sleep(0.1)
    proc.terminate()
    raise SandboxStartError(f"the {kind} sandbox did not start within {timeout:.0f}s (see {log})")


def admin_client(info: dict[str, Any]) -> httpx.Client:
    """A client for a sandbox's ``/_admin`` controls (the ERP's over HTTPS with its own CA)."""
    verify: Any = True
    if info.get("ca_path"):
        verify = ssl.create_default_context(cafile=info["ca_path"])
    return httpx.Client(base_url=info["url"], verify=verify, timeout=60)


def accept_license(info: dict[str, Any]) -> None:
    """Do what the ERP's administrator does in seed 003: accept the license agreement."""
    with admin_client(info) as client:
        client.post(f"/_admin/license/{info['client_id']}/accept").raise_for_status()
