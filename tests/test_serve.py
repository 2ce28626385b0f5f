"""`cashrail serve` on a fresh data dir: the Prefect UI and the admin app answer, the card's
schedule fires a sync and Sync Now runs through the same deployment — both as flow runs in the
Prefect API the UI shows."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.sandbox.bms import SandboxServer
from tests.test_serve_security import serve_env

CLI = [sys.executable, "-m", "hub"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _auth(data: Path) -> dict[str, str]:
    """The Prefect server's Authorization header, from serve.json (it refuses callers without it)."""
    secret = json.loads((data / "serve.json").read_text())["auth"]
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def _flow_runs(api: str, headers: dict[str, str]) -> list[dict]:
    """Completed flow runs, newest first ([] while a loaded server is slow to answer)."""
    try:
        return httpx.post(f"{api}/flow_runs/filter", headers=headers, json={
            "limit": 50, "sort": "EXPECTED_START_TIME_DESC",
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}, timeout=60).json()
    except httpx.TimeoutException:
        return []


@pytest.mark.slow
def test_serve_shows_prefect_ui_and_admin_app_and_runs_scheduled_and_sync_now_syncs(tmp_path: Path) -> None:
    env = serve_env(tmp_path / "data")
    prefect_port, web_port = _free_port(), _free_port()
    with SandboxServer(records=20) as psa:
        card = {"name": "psa", "kind": "bms", "environment": "sandbox",
                "settings": {"company": "Acme MSP", "username": "api.cashrail", "server_url": psa.url, "sandbox": True,
                             "sync_every_minutes": 1},  # seldom enough that Sync Now rarely meets a scheduled run
                "secrets": {"password": "sandbox-pass"}}
        (tmp_path / "psa.json").write_text(json.dumps(card))
        for args in (["connectors", "add", "--from-file", str(tmp_path / "psa.json")], ["connectors", "activate", "psa"]):
            subprocess.run(CLI + args, env=env, check=True, capture_output=True, timeout=120)
        log = (tmp_path / "serve.log").open("w")
        serve = subprocess.Popen(CLI + ["serve", "--prefect-port", str(prefect_port), "--web-port", str(web_port)],
                                 env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait(lambda: "Admin web app" in (tmp_path / "serve.log").read_text(), 240, "cashrail serve to start")
            printed = (tmp_path / "serve.log").read_text()
            assert f"http://127.0.0.1:{prefect_port}" in printed and f"http://127.0.0.1:{web_port}" in printed
            auth = _auth(tmp_path / "data")
            ui = httpx.get(f"http://127.0.0.1:{prefect_port}/prefect/", timeout=60)
            assert ui.status_code == 200 and "<html" in ui.text.lower()  # the Prefect UI (the admin app proxies it)
            app = httpx.get(f"http://127.0.0.1:{web_port}/", timeout=60)
            assert app.status_code in (200, 303, 307)  # the admin app (login first)
            api = f"http://127.0.0.1:{prefect_port}/api"

            scheduled = _wait(lambda: [r for r in _flow_runs(api, auth) if r["auto_scheduled"]], 300,
                              "a scheduled sync run to complete")
            assert scheduled[0]["name"] == "sync-psa"

            now = subprocess.run(CLI + ["sync", "psa", "--json"], env=env, capture_output=True, text=True, timeout=300)
            assert now.returncode == 0, now.stderr
            assert "through the psa deployment" in now.stderr
            assert set(json.loads(now.stdout)["streams"]) >= {"organisations", "contacts", "invoices"}
            manual = [r for r in _flow_runs(api, auth) if not r["auto_scheduled"] and r["deployment_id"]]
            assert manual and manual[0]["name"] == "sync-psa"
            deployments = httpx.post(f"{api}/deployments/filter", json={"limit": 50, "sort": "NAME_ASC"},
                                     headers=auth, timeout=60).json()
            assert {"sandbox-psa", "sandbox-daily", "production-daily"} <= {d["name"] for d in deployments}
        finally:
            os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
            log.close()
    assert serve.returncode is not None
    assert not (tmp_path / "data" / "serve.json").exists()  # a clean stop leaves no stale state
