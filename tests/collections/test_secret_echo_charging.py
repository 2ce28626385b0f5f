"""A gateway and a PSA that echo the credentials they were sent, while the hub charges and records
payments, never make the hub leak them (issue 22, "Why": secrets leak through remote error echoes):
the passwords are in no stored row, log line or Prefect record, and in no API answer or page of
either role."""

from __future__ import annotations

import logging
from datetime import date

import httpx
import pytest

from hub.collections import collect
from tests.collections.collect_world import World, capture_card, customer, invoice, world  # noqa: F401
from tests.web.conftest import USER, Web, web  # noqa: F401  (fixture)
from tests.web.test_secret_echo import _database_dump, _prefect_dump

DUE = date(2012, 8, 10)


def _nowhere(web: Web, prefect_backend: str, caplog: pytest.LogCaptureFixture, report: str,
             secrets: list[str]) -> None:
    api = web.client()
    token = web.token()
    api.headers["Authorization"] = f"Bearer {token}"
    user, admin = web.signed_in(USER), web.signed_in()
    paths = ("/api/connectors", "/api/connectors/gateway", "/api/connectors/psa", "/api/audit", "/connectors",
             "/connectors/gateway", "/connectors/psa")
    seen = [report] + [client.get(path).text for client in (api, user, admin) for path in paths]
    haystacks = {"hub store": _database_dump(),
                 "log records": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
                 "Prefect": _prefect_dump(prefect_backend), "API answers, pages and the run's report": "\n".join(seen)}
    for where, text in haystacks.items():
        for planted in [*secrets, token]:
            assert planted not in text, f"a secret ({planted[:4]}…) leaked into the {where}"


def test_a_gateway_password_echoed_while_charging_is_stored_logged_and_shown_nowhere(
    world: World, web: Web, prefect_backend: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    org, contact = customer(world, "1", "Customer 1")
    capture_card(org, contact, "4111111111111111")
    invoice(world, "1", "2")
    secret = world.gateway.state.password
    httpx.put(f"{world.gateway.url}/_admin/faults", json={"echo_credentials": True}).raise_for_status()
    world.gateway.state.password = "Rotated-On-The-Gateway-55"  # the hub's next call is refused, and echoed
    echoed = httpx.get(f"{world.gateway.url}/services/2/transactions/x",
                       auth=(world.gateway.state.username, secret)).text
    assert secret in echoed, "the sandbox echoes what it was sent (the behaviour under test)"
    report = collect.run("sandbox", DUE)
    assert world.transactions() == []
    _nowhere(web, prefect_backend, caplog, repr(report), [secret])


def test_a_psa_password_echoed_while_recording_the_payment_is_stored_logged_and_shown_nowhere(
    world: World, web: Web, prefect_backend: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    org, contact = customer(world, "1", "Customer 1")
    capture_card(org, contact, "4111111111111111")
    invoice(world, "1", "2")
    secret = world.psa.state.password
    httpx.put(f"{world.psa.url}/_admin/faults", json={"echo_credentials": True}).raise_for_status()
    world.psa.state.password = "Rotated-On-The-Psa-66"  # the hub's next sign-in is refused, and echoed
    echoed = httpx.post(f"{world.psa.url}/v2/security/authenticate",
                        data={"tenant": world.psa.state.company, "username": world.psa.state.username,
                              "password": secret, "grantType": "password"}).text
    assert secret in echoed, "the sandbox echoes what it was sent (the behaviour under test)"
    report = collect.run("sandbox", DUE)
    assert len(world.transactions()) == 1, "the charge itself went through"
    assert report.recorded and all(row["error"] for row in report.recorded), report.recorded
    _nowhere(web, prefect_backend, caplog, repr(report), [secret])
