"""The Prefect server on PostgreSQL, started exactly as docs/scale-out.md shows: it migrates a
fresh database, and a flow run against it completes and is stored there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL, _pg_admin
from tests.test_serve import _free_port, _wait

FLOW = textwrap.dedent("""
    from prefect import flow

    @flow(name="hello-postgres")
    def hello(name: str) -> str:
        return f"hello {name}"

    print(hello("cashrail"))
""")


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A fresh PostgreSQL database for Prefect alone (created and dropped here); its psycopg URL."""
    name = f"prefect_test_{os.getpid()}"
    if not _pg_admin(f'CREATE DATABASE "{name}"'):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; in CI this test must run")
        pytest.skip("PostgreSQL is not reachable (set CASHRAIL_TEST_PG_URL)")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.postgres
def test_prefect_server_on_postgresql_runs_a_flow(prefect_database: str, tmp_path: Path) -> None:
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL": prefect_database.replace("+psycopg", "+asyncpg", 1)}
    env.pop("PREFECT_API_URL", None)
    prefect = str(Path(sys.executable).with_name("prefect"))
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def healthy() -> bool:
            try:
                return httpx.get(f"{api}/health", timeout=10).status_code == 200
            except httpx.HTTPError:
                return server.poll() is not None  # a dead server ends the wait (asserted below)

        _wait(healthy, timeout=180, what="the Prefect server on PostgreSQL")
        assert server.poll() is None, "the Prefect server exited"
        done = subprocess.run([sys.executable, "-c", FLOW], env={**env, "PREFECT_API_URL": api},
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "hello cashrail" in done.stdout
        runs = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"state": {"type": {
            "any_": ["COMPLETED"]}}}}, timeout=60).json()
        assert [r["name"] for r in runs] and len(runs) == 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    engine = create_engine(prefect_database)  # the flow run lives in PostgreSQL, not in a SQLite file
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM flow_run WHERE state_type = 'COMPLETED'")).scalar_one() == 1
    finally:
        engine.dispose()
    assert not list((tmp_path / "prefect").glob("*.db"))
