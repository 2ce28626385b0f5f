"""The JSON API drives a connector card as the pages do: Test Connection names missing permissions,
settings change only while deactivated, Sync Now runs in the background and its counts match the
sandbox; plans and bad input are answered in plain words."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from connectors.sandbox.bms import ALL_PERMISSIONS, SandboxServer
from tests.web.conftest import Web


@pytest.fixture
def psa() -> Iterator[SandboxServer]:
    with SandboxServer(records=30, seed=4) as server:
        yield server


@pytest.fixture
def api(web: Web) -> TestClient:
    client = web.client()
    client.headers["Authorization"] = f"Bearer {web.token()}"
    return client


def _card(psa: SandboxServer) -> dict[str, object]:
    return {"name": "psa", "kind": "bms",
            "settings": {"company": psa.state.company, "username": psa.state.username, "server_url": psa.url, "sandbox": True,
                         "rate_limit_per_hour": 0},
            "secrets": {"password": psa.state.password}}


def test_connector_card_lifecycle_through_the_api(api: TestClient, psa: SandboxServer) -> None:
    created = api.post("/api/connectors", json=_card(psa))
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert created.json()["secrets"] == {"password": "********"}
    assert psa.state.password not in created.text

    granted = sorted(set(ALL_PERMISSIONS) - {"Finance: Allow Modify All"})
    httpx.put(f"{psa.url}/_admin/permissions", json={"permissions": granted}).raise_for_status()
    report = api.post("/api/connectors/psa/test").json()
    assert report["ok"] is False and report["missing_permissions"] == ["Finance: Allow Modify All"]
    refused = api.post("/api/connectors/psa/activate").json()
    assert refused["status"] == "error"
    httpx.put(f"{psa.url}/_admin/permissions", json={"permissions": sorted(ALL_PERMISSIONS)}).raise_for_status()
    assert api.post("/api/connectors/psa/activate").json()["status"] == "active"

    frozen = api.patch("/api/connectors/psa", json={"settings": {"page_size": 10}})
    assert frozen.status_code == 400 and "deactivate it" in frozen.json()["detail"]

    started = api.post("/api/connectors/psa/sync")
    assert started.status_code == 202
    # never two at once; a first run that has ended already (a few records) lets a second one start
    second = api.post("/api/connectors/psa/sync")
    assert second.status_code in (202, 400)
    deadline = time.monotonic() + 120
    status = started.json()
    while status["running"] and time.monotonic() < deadline:
        time.sleep(0.3)
        status = api.get("/api/connectors/psa/sync").json()
    assert status["state"] == "completed", status
    served = httpx.get(f"{psa.url}/_admin/counts").json()
    assert status["in_hub"]["organisations"] == served["accounts"]
    if second.status_code == 400:  # the last run is the first one: it inserted every account
        assert status["last_run"]["counts"]["organisations"]["inserted"] == served["accounts"]
    assert status["in_hub"]["invoices"] == served["invoices"]
    customers = api.get("/api/customers", params={"connector": "psa"}).json()
    assert len(customers) == served["accounts"]
    one = api.get(f"/api/customers/{customers[0]['id']}").json()
    assert one["name"] == customers[0]["name"] and isinstance(one["contacts"], list)
    assert len(api.get("/api/invoices", params={"connector": "psa"}).json()) == served["invoices"]

    assert api.post("/api/connectors/psa/deactivate").json()["status"] == "deactivated"
    changed = api.patch("/api/connectors/psa", json={"settings": {"page_size": 10}})
    assert changed.status_code == 200 and changed.json()["settings"]["page_size"] == 10
    assert api.delete("/api/connectors/psa").status_code == 204
    assert api.get("/api/connectors").json() == []
    assert api.get("/api/customers").json() == []


def test_bad_input_is_answered_naming_the_problem(api: TestClient, psa: SandboxServer) -> None:
    bad = api.post("/api/connectors", json={**_card(psa), "settings": {"company": "x"}})
    assert bad.status_code == 400 and "username" in bad.json()["detail"]
    unknown = api.post("/api/connectors", json={**_card(psa), "kind": "sap"})
    assert unknown.status_code == 400 and "unknown connector kind 'sap'" in unknown.json()["detail"]
    no_plan = api.post("/api/plans", json={"name": "x", "connector": "erp", "customer": "1", "program_type": "p"})
    assert no_plan.status_code == 400 and "no connector named 'erp'" in no_plan.json()["detail"]
    not_a_date = api.get("/api/dashboard", params={"from": "yesterday"})
    assert not_a_date.status_code == 422
    backwards = api.get("/api/dashboard", params={"from": "2024-02-01", "to": "2024-01-01"})
    assert backwards.status_code == 400 and "after" in backwards.json()["detail"]
    assert api.get("/api/plans/999").status_code == 400


def test_openapi_docs_describe_the_api_and_load_nothing_from_the_internet(api: TestClient) -> None:
    schema = api.get("/api/openapi.json").json()
    assert "/api/plans" in schema["paths"] and "/api/actions/firm" in schema["paths"]
    assert schema["paths"]["/api/connectors"]["post"]["x-permission"] == {"feature": "Connectors",
                                                                           "operation": "Create"}
    assert not any(p.startswith(("/connectors", "/login")) for p in schema["paths"])  # pages stay out
    docs = api.get("/api/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs and "https://" not in docs
    assert api.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
