"""The sync-connector flow against the real BMS sandbox: full history first, incremental
after, changes and deletes picked up, bad records quarantined, faults survived."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import select

from connectors.sandbox.bms import SandboxServer
from flows.sync import sync_connector
from hub.access import users
from hub.platform.db import session
from hub.platform.models import QuarantinedRecord, SyncRun
from hub.sync import cards
from hub.sync.runner import SyncError
from tests import factories
from tests.bms_helpers import assert_hub_equals_sandbox
from tests.collections.conftest import smtp_server  # noqa: F401  (fixture)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(records=300, seed=7, time_zone="America/New_York") as server:
        yield server


def _active_card(sandbox: SandboxServer, **settings):
    card = factories.bms_card(url=sandbox.url, time_zone="America/New_York", rate_limit_per_hour=0,
                              page_size=50, **settings)
    with session("sandbox") as s:
        cards.set_status(s, card.name, "active")
    return card


def test_first_sync_pulls_full_history_and_second_changes_nothing(hub_db, prefect_backend, sandbox) -> None:
    card = _active_card(sandbox)
    first = sync_connector(connector="psa", environment="sandbox")
    served = httpx.get(f"{sandbox.url}/_admin/counts").json()
    assert first["streams"]["organisations"]["inserted"] == served["accounts"]
    assert first["streams"]["invoices"]["inserted"] == served["invoices"]
    assert_hub_equals_sandbox(sandbox.url, "sandbox", card.id)

    second = sync_connector(connector="psa", environment="sandbox")
    for stream, counts in second["streams"].items():
        assert counts["inserted"] == 0 and counts["updated"] == 0, stream
    # incremental streams re-read only the lookback window, not the whole history
    assert second["streams"]["contacts"]["fetched"] < served["contacts"]
    with session("sandbox") as s:
        runs = s.exec(select(SyncRun).order_by(SyncRun.id)).all()
    assert [r.status for r in runs] == ["completed", "completed"]
    assert runs[1].counts == second["streams"]


def test_changes_and_deletes_in_the_source_reach_the_hub(hub_db, prefect_backend, sandbox) -> None:
    card = _active_card(sandbox, reconcile_hours=0)
    sync_connector(connector="psa", environment="sandbox")
    admin = f"{sandbox.url}/_admin/records"
    httpx.patch(f"{admin}/accounts/1", json={"AccountName": "Renamed Ltd"}).raise_for_status()
    httpx.patch(f"{admin}/invoices/3", json={"TotalTax": 12.5}).raise_for_status()
    httpx.delete(f"{admin}/contacts/2").raise_for_status()
    httpx.delete(f"{admin}/contracts/4").raise_for_status()
    httpx.post(f"{admin}/tickets", json={"Title": "New ticket", "AccountId": 1}).raise_for_status()

    result = sync_connector(connector="psa", environment="sandbox")["streams"]
    assert result["organisations"]["updated"] == 1
    assert result["invoices"]["updated"] == 1
    assert result["contacts"]["deleted"] == 1
    assert result["contracts"]["deleted"] == 1
    assert result["tickets"]["inserted"] == 1
    assert_hub_equals_sandbox(sandbox.url, "sandbox", card.id)


def test_malformed_records_are_quarantined_and_the_sync_goes_on(hub_db, prefect_backend) -> None:
    with SandboxServer(records=100, seed=3, malformed=3) as server:
        # 3 of 10 accounts: above the default 5 % schema contract, so the card allows more
        card = _active_card(server, quarantine_threshold_percent=50)
        result = sync_connector(connector="psa", environment="sandbox")["streams"]
        served = httpx.get(f"{server.url}/_admin/counts").json()
    # 3 broken accounts (no name, bad date, no id); of the broken contacts, one only lacks
    # a first name, which a contact may: the other two are quarantined.
    assert result["organisations"]["quarantined"] == 3
    assert result["contacts"]["quarantined"] == 2
    for stream, key in (("organisations", "accounts"), ("contacts", "contacts")):
        assert result[stream]["inserted"] + result[stream]["quarantined"] == served[key]
    with session("sandbox") as s:
        rows = s.exec(select(QuarantinedRecord).where(QuarantinedRecord.connector_id == card.id)).all()
    assert len(rows) == 5
    assert all(r.reason and r.raw for r in rows)
    assert {r.field for r in rows} & {"Id", "ModifiedOn", "AccountName", "FirstName"}


def test_sync_survives_rate_limits_server_errors_and_dropped_connections(hub_db, prefect_backend, sandbox) -> None:
    card = _active_card(sandbox)
    httpx.put(f"{sandbox.url}/_admin/faults",
              json={"rate_429": 0.05, "retry_after": 0, "rate_5xx": 0.05, "rate_drop": 0.03, "seed": 11}).raise_for_status()
    sync_connector(connector="psa", environment="sandbox")
    stats = httpx.get(f"{sandbox.url}/_admin/stats").json()
    assert stats["faults"]["429"] and stats["faults"]["5xx"] and stats["faults"]["drop"]
    httpx.put(f"{sandbox.url}/_admin/faults", json={"rate_429": 0, "rate_5xx": 0, "rate_drop": 0}).raise_for_status()
    assert_hub_equals_sandbox(sandbox.url, "sandbox", card.id)


def test_expired_tokens_are_renewed_mid_sync(hub_db, prefect_backend, sandbox) -> None:
    card = _active_card(sandbox)
    sync_connector(connector="psa", environment="sandbox")
    httpx.post(f"{sandbox.url}/_admin/expire-tokens").raise_for_status()
    httpx.patch(f"{sandbox.url}/_admin/records/accounts/5", json={"AccountName": "After expiry"}).raise_for_status()
    assert sync_connector(connector="psa", environment="sandbox")["streams"]["organisations"]["updated"] == 1
    assert_hub_equals_sandbox(sandbox.url, "sandbox", card.id)


def test_a_deactivated_connector_does_not_sync(hub_db, prefect_backend, sandbox) -> None:
    factories.bms_card(url=sandbox.url)
    with pytest.raises(SyncError, match="is draft; activate it"):
        sync_connector(connector="psa", environment="sandbox")


def test_run_publishes_a_counts_artifact_with_each_streams_seconds(hub_db, prefect_backend, sandbox) -> None:
    # the streams are no Prefect task runs: the artifact is where the UI shows each one's time
    _active_card(sandbox)
    sync_connector(connector="psa", environment="sandbox")
    artifacts = httpx.post(
        f"{prefect_backend}/artifacts/filter",
        json={"artifacts": {"key": {"any_": ["sync-psa"]}}, "sort": "CREATED_DESC", "limit": 1},
    ).json()
    assert artifacts and artifacts[0]["type"] == "table"
    data = artifacts[0]["data"]
    data = json.loads(data) if isinstance(data, str) else data
    assert {row["stream"] for row in data} == {"organisations", "contacts", "contracts", "tickets", "invoices"}
    assert all(row["inserted"] > 0 for row in data)
    assert all(isinstance(row["seconds"], float) and row["seconds"] >= 0 for row in data)


def test_a_renamed_field_that_fails_every_record_of_a_stream_fails_the_run_loudly(
        hub_db, prefect_backend, smtp_server, monkeypatch) -> None:
    # A vendor release renames AccountName: every account fails mapping. The run must not end
    # "completed" with the stream silently 100 % quarantined.
    for name, value in {"HOST": smtp_server.host, "PORT": str(smtp_server.port), "SECURITY": "none",
                        "FROM_ADDRESS": "hub@msp.example"}.items():
        monkeypatch.setenv(f"CASHRAIL_SMTP_{name}", value)
    with session("sandbox") as s:
        users.create_user(s, "admin@msp.example", "admin password 1", role="Administrator")
        users.create_user(s, "clerk@msp.example", "clerk password 1", role="User")
    with SandboxServer(records=40, seed=3) as server:
        with server.state.lock:
            for rid, rec in list(server.state.accounts.records.items()):
                renamed = dict(rec)
                renamed["Name"] = renamed.pop("AccountName")
                server.state.accounts.put(rid, renamed)
        card = _active_card(server)
        with pytest.raises(SyncError, match="schema drift in organisations") as failed:
            sync_connector(connector="psa", environment="sandbox")
    assert "AccountName" in str(failed.value) and "every record of a page" in str(failed.value)
    with session("sandbox") as s:
        run = s.exec(select(SyncRun).where(SyncRun.connector_id == card.id)).one()
        quarantined = s.exec(select(QuarantinedRecord).where(QuarantinedRecord.connector_id == card.id)).all()
        stored = cards.get(s, "psa")
    assert run.status == "failed" and "schema drift in organisations" in (run.error or "")
    assert "schema drift in organisations" in (stored.last_error or "")  # on the card, as the web shows it
    assert quarantined and {q.field for q in quarantined} == {"AccountName"}
    assert "contracts" in run.counts  # the other streams still synced
    # the administrators are told, by e-mail: read back from the mail server
    assert [r.rcpt_tos for r in smtp_server.received] == [["admin@msp.example"]]
    alert = smtp_server.received[0].message
    assert "schema drift in psa (organisations)" in alert["Subject"]
    assert "AccountName" in alert.get_content() and "cashrail quarantine retry --connector psa" in alert.get_content()



def test_a_sync_run_does_not_ask_prefect_for_result_storage_it_never_writes(
    hub_db, prefect_backend, sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # persist_result=False, yet with no storage named Prefect asked its server for a default each run
    from prefect.client.orchestration import SyncPrefectClient

    asked: list[int] = []
    real = SyncPrefectClient.read_server_default_result_storage

    def counted(self: SyncPrefectClient):  # type: ignore[no-untyped-def]
        asked.append(1)
        return real(self)

    monkeypatch.setattr(SyncPrefectClient, "read_server_default_result_storage", counted)
    _active_card(sandbox)
    summary = sync_connector(connector="psa", environment="sandbox")
    assert summary["streams"]["invoices"]["inserted"] > 0
    assert asked == []
