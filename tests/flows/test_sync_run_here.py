"""A sync run in this process (``cashrail sync``, Sync Now without ``cashrail serve``) as Prefect
shows it: reported by Cashrail with two API calls of its own, and looking in the UI as a run made
by Prefect's engine does — the flow, the run's name, its parameters, its states, logs and artifact."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import select

from connectors.sandbox.bms import SandboxServer
from hub.platform.db import session
from hub.platform.models import SyncRun
from hub.sync import cards, now
from hub.sync.runner import SyncError
from tests import factories


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(records=40, seed=7) as server:
        yield server


def _active_card(sandbox: SandboxServer) -> None:
    factories.active_bms_card(sandbox.url, rate_limit_per_hour=0, page_size=50)


def _flow_run_of_last_sync(api: str) -> dict[str, Any]:
    with session("sandbox") as s:
        run = s.exec(select(SyncRun).order_by(SyncRun.id.desc())).first()  # type: ignore[union-attr]
    assert run is not None and run.flow_run_id
    return dict(httpx.get(f"{api}/flow_runs/{run.flow_run_id}").json())


def _states(api: str, flow_run_id: str) -> list[str]:
    states = httpx.get(f"{api}/flow_run_states/", params={"flow_run_id": flow_run_id}).json()
    return [s["type"] for s in sorted(states, key=lambda s: s["timestamp"])]


def test_a_sync_run_here_shows_in_prefect_named_with_its_parameters_states_logs_and_artifact(
    hub_db: str, prefect_backend: str, sandbox: SandboxServer
) -> None:
    from prefect.logging.handlers import APILogHandler

    _active_card(sandbox)
    summary = now.run_here("psa", "sandbox")
    assert summary["streams"]["invoices"]["inserted"] > 0
    run = _flow_run_of_last_sync(prefect_backend)
    assert run["name"] == "sync-psa"
    assert run["parameters"] == {"connector": "psa", "environment": "sandbox", "full": False}
    assert run["state_type"] == "COMPLETED"
    assert httpx.get(f"{prefect_backend}/flows/{run['flow_id']}").json()["name"] == "sync-connector"
    assert _states(prefect_backend, run["id"]) == ["RUNNING", "COMPLETED"]
    APILogHandler().flush()  # the logs go in batches
    logs = httpx.post(f"{prefect_backend}/logs/filter", json={
        "logs": {"flow_run_id": {"any_": [run["id"]]}}, "limit": 50, "offset": 0, "sort": "TIMESTAMP_ASC"}).json()
    assert any(line.startswith("invoices: ") for log in logs for line in log["message"].splitlines())
    artifacts = httpx.post(f"{prefect_backend}/artifacts/filter", json={
        "flow_runs": {"id": {"any_": [run["id"]]}}, "limit": 5, "offset": 0, "sort": "CREATED_DESC"}).json()
    assert [a["key"] for a in artifacts] == ["sync-psa"]


def test_a_sync_run_here_that_fails_is_failed_in_prefect_with_its_error(
    hub_db: str, prefect_backend: str, sandbox: SandboxServer
) -> None:
    _active_card(sandbox)
    now.run_here("psa", "sandbox")
    with session("sandbox") as s:
        cards.set_status(s, "psa", "deactivated")
    flows_before = httpx.post(f"{prefect_backend}/flow_runs/filter", json={"limit": 200, "offset": 0,
                                                                           "sort": "ID_DESC"}).json()
    with pytest.raises(SyncError, match="deactivated"):
        now.run_here("psa", "sandbox")
    runs = httpx.post(f"{prefect_backend}/flow_runs/filter", json={"limit": 200, "offset": 0,
                                                                   "sort": "ID_DESC"}).json()
    new = [r for r in runs if r["id"] not in {f["id"] for f in flows_before}]
    assert [r["state_type"] for r in new] == ["FAILED"]
    assert "deactivated" in new[0]["state"]["message"]


def _prefect_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls this process sends to Prefect's API from now on, as ``METHOD /path``."""
    from prefect.client.base import PrefectHttpxSyncClient

    calls: list[str] = []
    real = PrefectHttpxSyncClient.send

    def counted(self: PrefectHttpxSyncClient, request: httpx.Request, **kw: Any) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path.rsplit('/api', 1)[-1]}")
        return real(self, request, **kw)

    monkeypatch.setattr(PrefectHttpxSyncClient, "send", counted)
    return calls


def test_a_sync_run_here_makes_two_prefect_calls_of_its_own_beside_its_artifact(
    hub_db: str, prefect_backend: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prefect's engine made seven round trips around a short run: the flow upserted, the run
    # created, read back, renamed, set Running, set Completed (and the artifact)
    _active_card(sandbox)
    now.run_here("psa", "sandbox")  # the first run of the process may also make the flow
    httpx.patch(f"{sandbox.url}/_admin/records/contacts/1", json={"FirstName": "Renamed"}).raise_for_status()
    calls = _prefect_calls(monkeypatch)
    summary = now.run_here("psa", "sandbox")
    assert summary["streams"]["contacts"]["updated"] == 1
    run_id = _flow_run_of_last_sync(prefect_backend)["id"]
    # one after another, never two at once: the temporary server's SQLite answers two writes at
    # once with 503 now and then, and the client retries after 2, 4, 8… s
    assert calls == ["POST /flow_runs/", "POST /artifacts/", f"POST /flow_runs/{run_id}/set_state"]


def test_a_sync_run_that_changed_nothing_keeps_no_table_in_prefect_and_logs_its_counts(
    hub_db: str, prefect_backend: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # most scheduled runs find nothing: the keyed table's history stays the history of what changed
    from prefect.logging.handlers import APILogHandler

    _active_card(sandbox)
    now.run_here("psa", "sandbox")
    calls = _prefect_calls(monkeypatch)
    summary = now.run_here("psa", "sandbox")
    assert not any(counts[name] for counts in summary["streams"].values()
                   for name in ("inserted", "updated", "deleted", "quarantined"))
    run = _flow_run_of_last_sync(prefect_backend)
    assert calls == ["POST /flow_runs/", f"POST /flow_runs/{run['id']}/set_state"]
    assert run["state_type"] == "COMPLETED"
    artifacts = httpx.post(f"{prefect_backend}/artifacts/filter", json={
        "flow_runs": {"id": {"any_": [run["id"]]}}, "limit": 5, "offset": 0, "sort": "CREATED_DESC"}).json()
    assert artifacts == []
    APILogHandler().flush()
    logs = httpx.post(f"{prefect_backend}/logs/filter", json={
        "logs": {"flow_run_id": {"any_": [run["id"]]}}, "limit": 50, "offset": 0, "sort": "TIMESTAMP_ASC"}).json()
    lines = [line for log in logs for line in log["message"].splitlines()]
    assert any(line.startswith("contacts: ") and "'unchanged': " in line for line in lines)
    with session("sandbox") as s:  # and the hub's run has every stream's counts
        last = s.exec(select(SyncRun).order_by(SyncRun.id.desc())).first()  # type: ignore[union-attr]
        assert last is not None and last.status == "completed" and set(last.counts or {}) == set(summary["streams"])


def test_a_run_reported_binds_the_flows_defaults_and_refuses_an_unknown_parameter(
    hub_db: str, prefect_backend: str, sandbox: SandboxServer
) -> None:
    from flows.sync import sync_connector
    from hub.platform import flowrun

    _active_card(sandbox)
    flowrun.run_reported(sync_connector, connector="psa")  # environment and full from the flow's defaults
    run = _flow_run_of_last_sync(prefect_backend)
    assert run["parameters"] == {"connector": "psa", "environment": "sandbox", "full": False}
    with pytest.raises(TypeError, match="conector"):
        flowrun.run_reported(sync_connector, conector="psa")


def test_a_sync_run_here_is_linked_to_its_prefect_flow_run_while_its_streams_still_run(
    hub_db: str, prefect_backend: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the flow run is made while the streams start; a run that goes on is linked then, not at its end
    import flows.sync
    from hub.sync import runner

    _active_card(sandbox)
    seen: list[tuple[str, str | None]] = []
    real = runner.link_flow_run

    def link(environment: str, run_id: int, flow_run_id: str | None) -> None:
        real(environment, run_id, flow_run_id)
        with session(environment) as s:
            run = s.get(SyncRun, run_id)
            assert run is not None
            seen.append((run.status, run.flow_run_id))
        linked.set()

    linked = threading.Event()
    real_stream = runner.sync_stream

    def held(*args: Any, **kwargs: Any) -> Any:  # still running when Prefect's run is made, however slow that is
        linked.wait(30)
        return real_stream(*args, **kwargs)

    monkeypatch.setattr(flows.sync, "LINK_AFTER", 0.0)
    monkeypatch.setattr(runner, "link_flow_run", link)
    monkeypatch.setattr(runner, "sync_stream", held)
    now.run_here("psa", "sandbox")
    flow_run = _flow_run_of_last_sync(prefect_backend)
    assert seen == [("running", flow_run["id"])]


def test_a_sync_run_that_prefect_cannot_take_still_ends_and_says_so(
    hub_db: str, prefect_backend: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the run is made while the streams start: when Prefect refuses it, the streams have begun;
    # they end, the hub's run ends with their counts and the reason, and the error reaches the caller
    from hub.platform import flowrun

    _active_card(sandbox)

    def refused(*_: Any) -> Any:
        raise RuntimeError("Prefect's API is not answering")

    monkeypatch.setattr(flowrun, "_create_running", refused)
    with pytest.raises(RuntimeError, match="not answering"):
        now.run_here("psa", "sandbox")
    with session("sandbox") as s:
        run = s.exec(select(SyncRun).order_by(SyncRun.id.desc())).first()  # type: ignore[union-attr]
    assert run is not None and run.status == "failed" and run.flow_run_id is None
    assert run.error is not None and "not reported to Prefect" in run.error and "not answering" in run.error
    assert run.counts["invoices"]["inserted"] > 0


def test_a_reported_flow_that_logs_and_keeps_an_artifact_at_once_has_both_on_its_run(
    hub_db: str, prefect_backend: str
) -> None:
    # only a flow marked ``starts_early`` begins while its run is being created; any other finds its
    # run made when it starts (its first log line and artifact would otherwise name no run)
    from prefect import flow, get_run_logger
    from prefect.artifacts import create_table_artifact
    from prefect.logging.handlers import APILogHandler

    from hub.platform import flowrun

    @flow(name="test-at-once", persist_result=False)
    def at_once(n: int) -> int:
        get_run_logger().info("started with %s", n)
        create_table_artifact(key="test-at-once", table=[{"n": n}])
        return n

    assert flowrun.run_reported(at_once, n=3) == 3
    artifacts = httpx.post(f"{prefect_backend}/artifacts/filter", json={
        "artifacts": {"key": {"any_": ["test-at-once"]}}, "limit": 5, "offset": 0, "sort": "CREATED_DESC"}).json()
    assert artifacts and artifacts[0]["flow_run_id"] is not None  # the newest (the server serves the session)
    run_id = artifacts[0]["flow_run_id"]
    assert httpx.get(f"{prefect_backend}/flow_runs/{run_id}").json()["state_type"] == "COMPLETED"
    APILogHandler().flush()
    logs = httpx.post(f"{prefect_backend}/logs/filter", json={
        "logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 10, "offset": 0, "sort": "TIMESTAMP_ASC"}).json()
    assert [log["message"] for log in logs] == ["started with 3"]
