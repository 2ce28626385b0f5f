"""Two Prefect process workers on one work pool, each running a firm-actions flow run over the
same 1,000 actions at once against one PostgreSQL hub store: every action gets exactly one ERP
sales order, none is missed, and both runs did work."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from deployments import ensure_pool
from flows.billing import firm_actions
from hub.billing import generation
from hub.platform.db import session
from hub.platform.models import SubscriptionAction
from tests.erp_helpers import documents_per_key, erp_with_plan

REPO = str(Path(__file__).resolve().parents[2])
ACTIONS = 1000
POOL = "two-workers"


async def _two_firm_runs() -> list[str]:
    """A firm-actions deployment on the test's process pool, and two flow runs of it."""
    from prefect.client.orchestration import get_client

    await ensure_pool(POOL)
    deployment = await firm_actions.ato_deployment(name="two-workers", work_pool_name=POOL,
                                                   parameters={"environment": "sandbox"},
                                                   job_variables={"working_dir": REPO})
    deployment_id = await deployment.aapply()
    async with get_client() as client:
        return [str((await client.create_flow_run_from_deployment(deployment_id)).id) for _ in range(2)]


def _wait_final(api: str, run_ids: list[str], timeout: float = 240) -> dict[str, str]:
    """The runs' state types once both are final (or whatever they are at ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"id": {"any_": run_ids}}}, timeout=60).json()
        states = {r["id"]: r["state_type"] for r in runs}
        if all(st in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for st in states.values()) or \
                time.monotonic() > deadline:
            return states
        time.sleep(1)


def _done_per_run(api: str, run_ids: list[str]) -> list[int]:
    """Actions each firm-actions run firmed, from the artifacts the runs left."""
    artifacts = httpx.post(f"{api}/artifacts/filter", json={"artifacts": {
        "key": {"any_": ["firm-actions-sandbox"]}, "flow_run_id": {"any_": run_ids}}, "limit": 10}, timeout=60).json()
    return [int(a["description"].split(" done")[0]) for a in artifacts]


@pytest.fixture
def erp() -> Iterator[SandboxServer]:
    with SandboxServer(records=30, seed=8, license_accepted=True, latency_ms=0) as server:
        yield server


@pytest.mark.parametrize("hub_db", ["postgres"], indirect=True)
def test_two_workers_firming_the_same_1000_actions_make_exactly_one_sales_order_each(
    hub_db: str, prefect_backend: str, erp: SandboxServer
) -> None:
    erp_with_plan(erp, fixed_cycles=ACTIONS)
    seeded = sum(documents_per_key(erp, "salesOrders").values())
    with session("sandbox") as s:
        created, _ = generation.run_generator(s, date(2024 + ACTIONS // 12 + 1, 1, 1))
    assert len(created) == ACTIONS

    env = {**os.environ, "PYTHONPATH": REPO, "PREFECT_API_URL": prefect_backend, "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_WORKER_PREFETCH_SECONDS": "0"}
    run_ids = asyncio.run(_two_firm_runs())
    prefect = str(Path(sys.executable).with_name("prefect"))
    workers = [subprocess.Popen([prefect, "worker", "start", "--pool", POOL, "--type", "process", "--limit", "1",
                                 "--name", f"worker-{i}"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True) for i in (1, 2)]
    try:
        states = _wait_final(prefect_backend, run_ids)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a loaded machine: what the test proves is the firming, not the exit
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
    assert set(states.values()) == {"COMPLETED"}, states
    done = _done_per_run(prefect_backend, run_ids)
    assert sum(done) == ACTIONS and len(done) == 2 and min(done) > 0, f"each run should firm some actions: {done}"
    with session("sandbox") as s:
        actions = list(s.execute(select(SubscriptionAction)).scalars())
    assert {a.status for a in actions} == {"Firmed"}
    orders = documents_per_key(erp, "salesOrders")
    assert {a.key: orders[a.key] for a in actions} == {a.key: 1 for a in actions}
    assert sum(orders.values()) == seeded + ACTIONS  # and no order without an action
    assert len({a.order_number for a in actions if a.order_number}) == ACTIONS
