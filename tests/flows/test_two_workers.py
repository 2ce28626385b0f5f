"""Two worker processes firming the same 1,000 actions at once, against one PostgreSQL hub
store: every action gets exactly one ERP sales order, none is missed, and both did work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from hub import subscriptions
from hub.db import session
from hub.models import SubscriptionAction
from tests.erp_helpers import documents_per_key, erp_with_plan

REPO = str(Path(__file__).resolve().parents[2])
ACTIONS = 1000


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
        created, _ = subscriptions.run_generator(s, date(2024 + ACTIONS // 12 + 1, 1, 1))
    assert len(created) == ACTIONS

    env = {**os.environ, "PYTHONPATH": REPO, "PREFECT_API_URL": prefect_backend}
    cmd = [sys.executable, "-m", "hub", "actions", "firm", "--json"]
    workers = [subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
        reports.append(json.loads(out))

    assert all(r["failed"] == [] for r in reports)
    done = [len(r["done"]) for r in reports]
    assert sum(done) == ACTIONS and min(done) > 0, f"each worker should firm some actions, done: {done}"
    with session("sandbox") as s:
        actions = list(s.execute(select(SubscriptionAction)).scalars())
    assert {a.status for a in actions} == {"Firmed"}
    orders = documents_per_key(erp, "salesOrders")
    assert {a.key: orders[a.key] for a in actions} == {a.key: 1 for a in actions}
    assert sum(orders.values()) == seeded + ACTIONS  # and no order without an action
    assert len({a.order_number for a in actions if a.order_number}) == ACTIONS
