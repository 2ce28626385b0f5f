"""`cashrail serve`: a Prefect server with its UI, the deployments with their schedules, a
process worker that runs them, and the admin web app — one command.

The Prefect server and the worker are child processes (their logs go to ``<data dir>/logs``);
the web app runs in this process. The Prefect server listens on loopback (unless
``prefect_host`` says otherwise) and refuses any request without this run's basic-auth string;
people reach its UI through the admin app at ``/prefect/``, signed in as an Administrator.
``<data dir>/serve.json`` (:mod:`hub.platform.served`) tells other commands where the Prefect
API is. Deployments are reconciled with the connector cards every ``reconcile_seconds``.
SIGTERM or SIGINT at any moment, start-up included, stops the children before serve exits.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from hub.platform import prefect_env
from hub.platform.served import UI_PATH, Served, ServeError, recorded, running, state_path, write_state
from hub.platform.settings import get_settings, private_dir

if TYPE_CHECKING:
    import uvicorn

__all__ = ["ServeError", "Served", "serve"]


def _bin(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


def _child(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = log.open("ab")
    return subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServeError(f"the Prefect server exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServeError(f"the Prefect server did not answer at {url} within {timeout:.0f} s; see {log}")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def serve(host: str = "127.0.0.1", prefect_port: int = 4200, web_port: int = 8000, *,
          prefect_host: str = "127.0.0.1", reconcile_seconds: float = 30.0, worker_poll_seconds: float = 5.0,
          on_ready: Callable[[Served], None] | None = None, stop: threading.Event | None = None) -> None:
    """Run everything until ``stop`` is set (or SIGINT/SIGTERM)."""
    settings = get_settings()
    private_dir(settings.data_dir)
    other = running()
    if other is not None:
        raise ServeError(f"cashrail serve already runs for {settings.data_dir} (pid {other.pid}): "
                         f"Prefect UI {other.ui_url}, admin app {other.web_url}")
    if threading.current_thread() is threading.main_thread():
        # from the first child on: a SIGTERM during start-up must stop the children too
        signal.signal(signal.SIGTERM, _interrupt)  # never Event.set() in a handler: it can deadlock
    prefect_env.configure()
    prefect_url = f"http://{prefect_host}:{prefect_port}"
    web_port = web_port or _free_port(host)
    auth = SecretStr(secrets.token_urlsafe(32))
    env = dict(os.environ)
    env.update({
        "PREFECT_API_URL": f"{prefect_url}/api",
        # the UI is served through the admin app, which adds the auth string for Administrators
        "PREFECT_UI_SERVE_BASE": UI_PATH,
        "PREFECT_UI_API_URL": f"{UI_PATH}/api",
        "PREFECT_SERVER_API_AUTH_STRING": auth.get_secret_value(),
        "PREFECT_API_AUTH_STRING": auth.get_secret_value(),
        "PREFECT_SERVER_API_HOST": prefect_host,
        "PREFECT_SERVER_API_PORT": str(prefect_port),
        "PREFECT_WORKER_QUERY_SECONDS": str(worker_poll_seconds),
        # the scheduler turns new schedules into runs within seconds, not its default minute
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": str(max(worker_poll_seconds, 5.0)),
        "CASHRAIL_DATA_DIR": str(settings.data_dir.resolve()),
    })
    for key in [k for k in env if k.startswith("PREFECT_LOGGING_HANDLERS_")]:
        del env[key]  # the CLI's quiet console is for this terminal, not the children's log files
    logs = settings.data_dir / "logs"
    stop = stop or threading.Event()
    server = worker = None
    web: uvicorn.Server | None = None
    try:
        server = _child([_bin("prefect"), "server", "start", "--host", prefect_host, "--port", str(prefect_port)],
                        logs / "prefect-server.log", env)
        _wait_healthy(f"{prefect_url}/api", server, logs / "prefect-server.log")
        os.environ.update({k: env[k] for k in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "CASHRAIL_DATA_DIR")})

        import deployments

        asyncio.run(deployments.reconcile())
        worker = _child([_bin("prefect"), "worker", "start", "--pool", deployments.POOL, "--type", "process",
                         "--name", f"cashrail-{os.getpid()}"], logs / "prefect-worker.log", env)
        served = Served(prefect_url, f"http://{host}:{web_port}", os.getpid(), auth)
        write_state(served)  # before the web app starts: its /prefect/ proxy reads it
        web = _start_web(host, web_port)
        if on_ready:
            on_ready(served)
        try:
            while not stop.wait(reconcile_seconds):
                if worker.poll() is not None:
                    raise ServeError(f"the Prefect worker exited with {worker.returncode}; see {logs}")
                asyncio.run(deployments.reconcile())
        except KeyboardInterrupt:
            pass
    finally:
        if web is not None:
            web.should_exit = True
        _stop(worker)
        _stop(server)
        mine = recorded()
        if mine is not None and mine.pid == os.getpid():
            with suppress(OSError):
                state_path().unlink()


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def _start_web(host: str, port: int) -> uvicorn.Server:
    import uvicorn

    from hub.web.app import create_app

    # proxy_headers off: uvicorn would believe any X-Forwarded-For from loopback; the app decides
    # (hub.web.auth.client_address, CASHRAIL_TRUSTED_PROXIES)
    config = uvicorn.Config(create_app(), host=host, port=port, log_level="warning", lifespan="on",
                            proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="cashrail-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ServeError(f"the admin web app did not start on {host}:{port}")
        time.sleep(0.1)
    return server


