"""Quarantine after schema drift: listed, shown and retried from the CLI and the web once the
mapping is fixed, and shown on the dashboard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from connectors.registry import mapping_module
from connectors.sandbox.bms import SandboxServer
from hub.platform.db import session
from hub.platform.models import Organisation, QuarantinedRecord
from hub.sync import cards, runner
from tests import factories
from tests.cli.runner import run
from tests.web.conftest import Web, post_form
from tests.web.conftest import web as web


@pytest.fixture
def drifted() -> Iterator[SandboxServer]:
    """A PSA whose vendor release renamed AccountName to Name: every account fails mapping."""
    with SandboxServer(records=40, seed=3) as server:
        with server.state.lock:
            for rid, rec in list(server.state.accounts.records.items()):
                renamed = dict(rec)
                renamed["Name"] = renamed.pop("AccountName")
                server.state.accounts.put(rid, renamed)
        yield server


def _sync_organisations(server: SandboxServer) -> int:
    factories.bms_card(url=server.url, rate_limit_per_hour=0, page_size=50)
    with session("sandbox") as s:
        cards.set_status(s, "psa", "active")
    run_ = runner.begin_run("sandbox", "psa", full=True)
    with pytest.raises(runner.SchemaDriftError, match="AccountName"):
        runner.sync_stream("sandbox", run_.id, "psa", "organisations", full=True)  # type: ignore[arg-type]
    runner.finish_run("sandbox", run_.id, {}, "drift")  # type: ignore[arg-type]
    return len(server.state.accounts.records)


def _fix_the_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mapping learns the vendor's new field name (what a release of Cashrail would ship)."""
    mappers = mapping_module("bms").MAPPERS
    original = mappers["organisations"]

    def fixed(raw: dict[str, Any], ctx: Any) -> Any:
        return original({**raw, "AccountName": raw.get("AccountName") or raw.get("Name")}, ctx)

    monkeypatch.setitem(mappers, "organisations", fixed)


def _organisations() -> list[Organisation]:
    with session("sandbox") as s:
        return list(s.exec(select(Organisation)))


def test_the_cli_lists_shows_and_retries_quarantined_records_once_the_mapping_is_fixed(
        hub_db: str, drifted: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = _sync_organisations(drifted)
    code, out, _ = run(monkeypatch, capsys, "quarantine", "list", "--connector", "psa", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == accounts
    assert {(r["stream"], r["field"]) for r in rows} == {("organisations", "AccountName")}
    code, out, _ = run(monkeypatch, capsys, "quarantine", "show", str(rows[0]["id"]), "--json")
    assert code == 0 and "Name" in json.loads(out)["raw"] and "AccountName" not in json.loads(out)["raw"]

    code, out, _ = run(monkeypatch, capsys, "quarantine", "retry", "--connector", "psa")  # not fixed yet
    assert code == 1 and f"0 stored, {accounts} still failing" in out
    assert _organisations() == []

    _fix_the_mapping(monkeypatch)
    code, out, _ = run(monkeypatch, capsys, "quarantine", "retry", "--connector", "psa", "--stream",
                       "organisations", "--json")
    assert code == 0 and json.loads(out) == {"stored": accounts, "still_failing": 0, "reasons": []}
    stored = {o.external_id: o.name for o in _organisations()}
    served = {str(r["Id"]): r["Name"] for r in drifted.state.accounts.records.values()}
    assert stored == served  # every account, named as the source names it
    with session("sandbox") as s:
        assert s.exec(select(QuarantinedRecord)).all() == []
    code, _, err = run(monkeypatch, capsys, "quarantine", "show", str(rows[0]["id"]))
    assert code == 1 and f"no quarantined record {rows[0]['id']}" in err


def test_the_dashboard_and_the_quarantine_page_show_drift_and_retry_it(
        web: Web, drifted: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = _sync_organisations(drifted)
    with session("sandbox") as s:
        cards.get(s, "psa").last_error = "organisations: SchemaDriftError: schema drift in organisations"
    client = web.signed_in()
    dashboard = client.get("/").text
    assert "Sync health" in dashboard and "schema drift in organisations" in dashboard
    assert f"psa organisations {accounts}" in dashboard
    listed = client.get("/api/quarantine", params={"connector": "psa"}).json()
    assert len(listed) == accounts and listed[0]["field"] == "AccountName"
    assert client.get(f"/api/quarantine/{listed[0]['id']}").json()["raw"]["Name"]
    assert "AccountName" in client.get("/quarantine").text

    _fix_the_mapping(monkeypatch)
    answer = post_form(client, "/quarantine/retry?connector=psa&stream=organisations", page="/quarantine")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert len(_organisations()) == accounts
    assert client.get("/api/quarantine").json() == []
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    again = api.post("/api/quarantine/retry", json={"connector": "psa"}).json()
    assert again == {"stored": 0, "still_failing": 0, "reasons": []}
