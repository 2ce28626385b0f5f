"""The sync row: the BMS sandbox faults a sync runs through; afterwards the hub equals the sandbox."""

from __future__ import annotations

import httpx
from sqlmodel import select

from connectors.sandbox.bms import SandboxServer
from flows.sync import sync_connector
from hub.platform.db import session
from hub.platform.models import QuarantinedRecord, SyncRun
from hub.platform.settings import get_settings
from hub.sync import cards
from tests import factories
from tests.bms_helpers import assert_hub_equals_sandbox, hub_snapshot, sandbox_snapshot
from tests.faults.harness import Ctx, cashrail, drop_hub_connections, kill_mid_run, put, repeatedly, wait_for
from tests.faults.matrix import scenario

KNOBS = {"429": {"rate_429": 0.15, "retry_after": 0}, "5xx": {"rate_5xx": 0.15},
         "connection-reset": {"rate_drop": 0.1}}
CLEAR = {"rate_429": 0, "rate_5xx": 0, "rate_drop": 0, "latency_ms": 0}
STAT = {"429": "429", "5xx": "5xx", "connection-reset": "drop"}


def _card(server: SandboxServer, **settings: object) -> int:
    card = factories.bms_card(url=server.url, rate_limit_per_hour=0, page_size=20, reconcile_hours=0, **settings)
    with session("sandbox") as s:
        cards.set_status(s, "psa", "active")
    return card.id  # type: ignore[return-value]


def _runs(card_id: int) -> list[SyncRun]:
    with session("sandbox") as s:
        return list(s.exec(select(SyncRun).where(SyncRun.connector_id == card_id).order_by(SyncRun.id)))


def _no_run_left_running(card_id: int) -> None:
    """Every run ended visibly: completed, or failed/interrupted with its reason."""
    for run in _runs(card_id):
        assert run.status in ("completed", "failed", "interrupted"), (run.id, run.status)
        assert run.status == "completed" or run.error, (run.id, run.status)


@scenario("sync", "429", "5xx", "connection-reset")
def sync_through_transient_errors(ctx: Ctx) -> None:
    server = ctx.fixture("bms")
    card_id = _card(server)
    fault = ctx.request.node.callspec.params["fault"]
    put(server.url, "/_admin/faults", {**KNOBS[fault], "seed": 3})
    sync_connector(connector="psa", environment="sandbox")
    assert httpx.get(f"{server.url}/_admin/stats").json()["faults"][STAT[fault]] > 0, "the fault never fired"
    put(server.url, "/_admin/faults", CLEAR)
    assert_hub_equals_sandbox(server.url, "sandbox", card_id)
    assert [r.status for r in _runs(card_id)] == ["completed"]


@scenario("sync", "token-expiry")
def sync_while_tokens_expire(ctx: Ctx) -> None:
    server = ctx.fixture("bms")
    card_id = _card(server)
    put(server.url, "/_admin/faults", {"latency_ms": 5})
    with repeatedly(lambda: httpx.post(f"{server.url}/_admin/expire-tokens").raise_for_status(), every=0.15):
        sync_connector(connector="psa", environment="sandbox")
    put(server.url, "/_admin/faults", CLEAR)
    assert_hub_equals_sandbox(server.url, "sandbox", card_id)
    assert [r.status for r in _runs(card_id)] == ["completed"]


@scenario("sync", "malformed-records")
def sync_with_malformed_records(ctx: Ctx) -> None:
    with SandboxServer(records=100, seed=3, malformed=3) as server:
        card_id = _card(server, quarantine_threshold_percent=50)  # 3 of 10 accounts: over the default 5 %
        counts = sync_connector(connector="psa", environment="sandbox")["streams"]
        with session("sandbox") as s:
            quarantined = list(s.exec(select(QuarantinedRecord).where(QuarantinedRecord.connector_id == card_id)))
        assert quarantined and all(q.reason for q in quarantined)
        run = _runs(card_id)[-1]
        assert run.status == "completed"
        assert sum(c["quarantined"] for c in run.counts.values()) == len(quarantined)  # shown on its run
        assert sum(c["quarantined"] for c in counts.values()) == len(quarantined)
        bad = {q.external_id for q in quarantined if q.external_id}
        for key in ("accounts", "contacts"):  # what the hub lacks is exactly what it quarantined
            for record in httpx.get(f"{server.url}/_admin/records/{key}").json():
                if str(record.get("Id")) in bad:
                    httpx.delete(f"{server.url}/_admin/records/{key}/{record['Id']}").raise_for_status()
        sync_connector(connector="psa", environment="sandbox")  # the quarantined ones are gone at the source
        assert_hub_equals_sandbox(server.url, "sandbox", card_id)


@scenario("sync", "page-shift")
def sync_while_pages_shift(ctx: Ctx) -> None:
    server = ctx.fixture("bms")
    card_id = _card(server)
    sync_connector(connector="psa", environment="sandbox")
    admin = f"{server.url}/_admin/records"
    before = sandbox_snapshot(server.url)
    # A burst, not a stream of changes: it must end within the walks a sync allows itself
    # (``MAX_WALKS``; a source that keeps moving for all of them fails the sync, as it should). Each
    # walk is two round trips at 80 ms; the six changes take ~0.2 s over one kept connection (with a
    # client per change and 40 ms, they could outlast five walks on a loaded machine).
    put(server.url, "/_admin/faults", {"latency_ms": 80})
    shifted = []
    mover = httpx.Client()

    def shift() -> None:  # a burst of changes: records move to the end of the walk's order, or vanish
        if len(shifted) == 6:
            return
        i = len(shifted) * 7 + 1
        mover.patch(f"{admin}/contacts/{i}", json={"FirstName": f"Moved {i}"}).raise_for_status()
        mover.delete(f"{admin}/tickets/{i}").raise_for_status()
        shifted.append(i)

    with mover, repeatedly(shift, every=0.02):
        sync_connector(connector="psa", environment="sandbox")
    put(server.url, "/_admin/faults", CLEAR)
    assert len(shifted) > 3, "nothing moved during the walk"
    after, hub = sandbox_snapshot(server.url), hub_snapshot("sandbox", card_id)
    for stream, records in after.items():  # nothing that stayed at the source was lost by the walk
        lost = (records.keys() & before[stream].keys()) - hub[stream].keys()
        assert not lost, f"{stream}: the walk lost {sorted(lost)[:5]} while pages shifted"
    sync_connector(connector="psa", environment="sandbox")
    assert_hub_equals_sandbox(server.url, "sandbox", card_id)
    assert [r.status for r in _runs(card_id)] == ["completed"] * 3


@scenario("sync", "sigkill")
def sync_killed_then_completed(ctx: Ctx) -> None:
    server = ctx.fixture("bms")
    card_id = _card(server)
    put(server.url, "/_admin/faults", {"latency_ms": 15})
    before = len(_runs(card_id))
    started = lambda: len(_runs(card_id)) > before  # noqa: E731
    landed = kill_mid_run(ctx, ("sync", "psa", "--json"), began=started, kills=1)
    assert landed, "no kill landed mid-sync"
    put(server.url, "/_admin/faults", CLEAR)
    proc = cashrail(ctx, "sync", "psa", "--json")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert_hub_equals_sandbox(server.url, "sandbox", card_id)
    runs = _runs(card_id)
    assert runs[-1].status == "completed" and any(r.status == "interrupted" for r in runs)
    _no_run_left_running(card_id)


@scenario("sync", "db-connection-loss")
def sync_losing_its_database_connections(ctx: Ctx) -> None:
    server = ctx.fixture("bms")
    card_id = _card(server)
    put(server.url, "/_admin/faults", {"latency_ms": 15})
    url = get_settings().resolved_database_url()
    proc = cashrail(ctx, "sync", "psa", "--json")
    assert wait_for(lambda: len(_runs(card_id)) > 0, proc), "the sync never began"
    with repeatedly(lambda: drop_hub_connections(url), every=0.3):
        proc.communicate(timeout=300)
    put(server.url, "/_admin/faults", CLEAR)
    if proc.returncode != 0:  # the failure shows on its run; the next run completes
        assert _runs(card_id)[-1].status in ("failed", "running")
        again = cashrail(ctx, "sync", "psa", "--json")
        _, err = again.communicate(timeout=300)
        assert again.returncode == 0, err[-2000:]
    assert_hub_equals_sandbox(server.url, "sandbox", card_id)
    assert _runs(card_id)[-1].status == "completed"
    _no_run_left_running(card_id)
