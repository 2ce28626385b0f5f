"""A remote system that echoes the credentials it was sent never makes the hub leak them: the
password is found in no stored row, log line, Prefect record or artifact, and in no API answer
or page of either role (issue 22)."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from connectors.sandbox.bms import SandboxServer
from hub.platform.db import get_engine
from tests.web.conftest import USER, Web

PASSWORD = "Echo-S3cret-Pa55-991"
WRONG_PASSWORD = "Wr0ng-Echo-Pa55-442"


def _card(psa: SandboxServer, name: str, password: str, company: str | None = None) -> dict[str, object]:
    return {"name": name, "kind": "bms",
            "settings": {"company": company or psa.state.company, "username": psa.state.username, "server_url": psa.url,
                         "sandbox": True, "rate_limit_per_hour": 0},
            "secrets": {"password": password}}


def _database_dump() -> str:
    engine = get_engine()
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(repr(row) for table in meta.sorted_tables for row in conn.execute(select(table)))


def _prefect_dump(api: str) -> str:
    paths = ("flow_runs/filter", "task_runs/filter", "logs/filter", "artifacts/filter")
    return "\n".join(httpx.post(f"{api}/{path}", json={"limit": 200}, timeout=60).text for path in paths)


def _wait_for_sync(api: TestClient, name: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    status = api.get(f"/api/connectors/{name}/sync").json()
    while status["running"] and time.monotonic() < deadline:
        time.sleep(0.3)
        status = api.get(f"/api/connectors/{name}/sync").json()
    return status


def test_a_password_echoed_by_the_remote_system_is_stored_logged_and_shown_nowhere(
    web: Web, prefect_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = web.client()
    token = web.token()
    api.headers["Authorization"] = f"Bearer {token}"
    with SandboxServer(records=20, seed=3, password=PASSWORD) as psa:
        assert api.post("/api/connectors", json=_card(psa, "psa", PASSWORD)).status_code == 201
        assert api.post("/api/connectors", json=_card(psa, "psa-wrong", WRONG_PASSWORD, "Acme Labs")).status_code == 201  # one card per tenant
        assert api.post("/api/connectors/psa/activate").json()["status"] == "active"
        httpx.put(f"{psa.url}/_admin/faults", json={"echo_credentials": True}).raise_for_status()
        seen = [api.post("/api/connectors/psa-wrong/test").text, api.post("/api/connectors/psa-wrong/activate").text]
        # the PSA's password changes under the hub: the next sync is refused, and the refusal echoes it
        psa.state.password = "Changed-Pa55-on-the-PSA"
        assert api.post("/api/connectors/psa/sync").status_code == 202
        status = _wait_for_sync(api, "psa")
        echoed = httpx.post(f"{psa.url}/v2/security/authenticate",
                            data={"tenant": psa.state.company, "username": psa.state.username,
                                  "password": PASSWORD, "grantType": "password"}).text
    assert PASSWORD in echoed, "the sandbox echoes what it was sent (the behaviour under test)"
    assert status["state"] == "failed" and "Invalid tenant" in str(status["error"]), status
    assert "Invalid tenant" in seen[0] and "***" in seen[0]

    user = web.signed_in(USER)
    admin = web.signed_in()
    paths = ("/api/connectors", "/api/connectors/psa", "/api/connectors/psa-wrong", "/api/connectors/psa/sync",
             "/api/audit", "/connectors", "/connectors/psa", "/connectors/psa-wrong")
    seen += [client.get(path).text for client in (api, user, admin) for path in paths]
    haystacks = {"API answers and pages": "\n".join(seen), "hub store": _database_dump(),
                 "log records": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
                 "Prefect": _prefect_dump(prefect_backend)}
    assert "Invalid tenant" in haystacks["hub store"], "the refusal itself is kept, scrubbed"
    for where, text in haystacks.items():
        for secret in (PASSWORD, WRONG_PASSWORD, token):
            assert secret not in text, f"a secret ({secret[:4]}…) leaked into the {where}"


def test_moving_a_card_to_another_host_needs_its_secrets_entered_again(web: Web) -> None:
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    with SandboxServer(records=5, seed=3, password=PASSWORD) as psa, \
            SandboxServer(records=5, seed=3, password="Attacker-Wants-It") as elsewhere:
        assert api.post("/api/connectors", json=_card(psa, "psa", PASSWORD)).status_code == 201
        same = api.patch("/api/connectors/psa", json={"settings": {"server_url": psa.url + "/", "page_size": 10}})
        assert same.status_code == 200, same.text  # the same address, written otherwise: no new secret needed
        moved = api.patch("/api/connectors/psa", json={"settings": {"server_url": elsewhere.url}})
        assert moved.status_code == 400 and "server_url" in moved.json()["detail"]
        assert "entered again (password)" in moved.json()["detail"]
        assert api.post("/api/connectors/psa/test").json()["ok"] is True  # still the old host
        assert httpx.get(f"{elsewhere.url}/_admin/stats").json()["requests"] == 0
        # the web form and the CLI go through the same rule; with the secret given again it moves
        given = api.patch("/api/connectors/psa", json={"settings": {"server_url": elsewhere.url},
                                                      "secrets": {"password": "Attacker-Wants-It"}})
        assert given.status_code == 200 and given.json()["settings"]["server_url"] == elsewhere.url
