"""`cashrail serve` keeps its control plane closed: the Prefect server listens on loopback and
refuses any caller without its auth string, its UI and API are reached through the admin app by
Administrators only, and SIGTERM — even during start-up — leaves no child process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-m", "hub"]
ADMIN = ("admin@example.com", "a long admin passphrase")
USER = ("user@example.com", "a long user passphrase")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_env(data: Path) -> dict[str, str]:
    """The environment of a `cashrail` process of its own on ``data``: none of this test process's
    Prefect or database settings (its PREFECT_HOME is an earlier test's data dir, set in process by
    ``prefect_env.configure``; the served Prefect server keeps its database under its own)."""
    env = {**os.environ, "CASHRAIL_DATA_DIR": str(data), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    for key in ("PREFECT_API_URL", "CASHRAIL_DATABASE_URL", "PREFECT_API_AUTH_STRING", "PREFECT_HOME"):
        env.pop(key, None)
    return env


def _processes_of(data: Path) -> list[int]:
    """Processes whose environment names this data dir (serve and every child it started)."""
    marker = f"CASHRAIL_DATA_DIR={data}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _signed_in(web: str, who: tuple[str, str]) -> httpx.Client:
    client = httpx.Client(base_url=web, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    done = client.post("/login", data={"email": who[0], "password": who[1], "csrf_token": token.group(1)})
    assert done.status_code in (200, 303), done.text
    return client


def _start(data: Path, log: Path, prefect_port: int, web_port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(CLI + ["serve", "--prefect-port", str(prefect_port), "--web-port", str(web_port)],
                            env=serve_env(data), stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(serve: subprocess.Popen[bytes], data: Path) -> None:
    os.kill(serve.pid, signal.SIGTERM)  # serve alone: its children must be stopped by serve
    try:
        serve.wait(timeout=90)
    except subprocess.TimeoutExpired:
        serve.kill()
        raise
    finally:
        left = _processes_of(data)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left after SIGTERM to serve: {left}"


@pytest.mark.slow
def test_prefect_ui_and_api_answer_only_administrators_signed_in_to_the_admin_app(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for who, role in ((ADMIN, "Administrator"), (USER, "User")):
        subprocess.run(CLI + ["users", "add", who[0], "--role", role, "--password-stdin"], input=f"{who[1]}\n",
                       env=serve_env(data), check=True, capture_output=True, text=True, timeout=120)
    prefect_port, web_port = _free_port(), _free_port()
    serve = _start(data, tmp_path / "serve.log", prefect_port, web_port)
    try:
        _wait(lambda: "Admin web app" in (tmp_path / "serve.log").read_text(), 240, "cashrail serve to start")
        state = data / "serve.json"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
        served = json.loads(state.read_text())
        assert served["prefect_url"] == f"http://127.0.0.1:{prefect_port}"
        direct = f"http://127.0.0.1:{prefect_port}"
        assert httpx.post(f"{direct}/api/flow_runs/filter", json={}, timeout=60).status_code == 401
        assert httpx.post(f"{direct}/api/deployments/filter", json={}, timeout=60).status_code == 401
        assert httpx.get(f"{direct}/api/health", timeout=60).status_code == 200  # only the health probe

        web = f"http://127.0.0.1:{web_port}"
        anonymous = httpx.Client(base_url=web, timeout=60)
        page = anonymous.get("/prefect/")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert anonymous.post("/prefect/api/flow_runs/filter", json={}).status_code == 401
        assert anonymous.post("/prefect/api/deployments/filter", json={}).status_code == 401
        user = _signed_in(web, USER)
        assert user.get("/prefect/").status_code == 403
        assert user.post("/prefect/api/flow_runs/filter", json={}, headers={"Origin": web}).status_code == 403

        admin = _signed_in(web, ADMIN)
        ui = admin.get("/prefect/")
        assert ui.status_code == 200 and "<html" in ui.text.lower()
        assert admin.get("/prefect/ui-settings").json()["auth"] is None
        runs = admin.post("/prefect/api/deployments/filter", json={"limit": 50}, headers={"Origin": web})
        assert runs.status_code == 200 and {"sandbox-daily"} <= {d["name"] for d in runs.json()}
        foreign = admin.post("/prefect/api/deployments/filter", json={}, headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403  # a page of another site cannot drive it with the admin's cookie
    finally:
        _stop(serve, data)
    assert not (data / "serve.json").exists()


@pytest.mark.slow
def test_sigterm_while_serve_starts_leaves_no_prefect_server_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    serve = _start(data, tmp_path / "serve.log", _free_port(), _free_port())
    # the Prefect server is a child (its first start migrates its database: seconds)
    _wait(lambda: len(_processes_of(data)) >= 2, 120, "the Prefect server child to start")
    _stop(serve, data)
