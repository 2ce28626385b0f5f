"""A PSA that echoes the password it was sent, while the hub files dunning tickets, never makes the
hub leak it (issue 22, "Why": secrets leak through remote error echoes): the password is in no
stored row, log line, Prefect record or artifact, and in no API answer or page of either role."""

from __future__ import annotations

import logging

import httpx
import pytest

from flows.dunning import dunning
from flows.notifications import deliver_notifications
from flows.sync import sync_connector
from hub.platform.db import session
from hub.sync import cards
from tests import factories
from tests.collections.conftest import smtp_server  # noqa: F401  (fixture)
from tests.collections.test_secret_echo_charging import _nowhere
from tests.flows.test_notify_flows import AS_OF, _german_billing_contact, bms  # noqa: F401  (fixture)
from tests.web.conftest import Web, web  # noqa: F401  (fixture)


def test_a_psa_password_echoed_while_filing_tickets_is_stored_logged_and_shown_nowhere(
    web: Web, prefect_backend: str, bms, smtp_server, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _german_billing_contact(bms.url)
    factories.bms_card(url=bms.url, rate_limit_per_hour=0)
    with session("sandbox") as s:
        cards.set_status(s, "psa", "active")
    sync_connector(connector="psa", environment="sandbox")
    for name, value in {"HOST": smtp_server.host, "PORT": str(smtp_server.port), "SECURITY": "none",
                        "FROM_ADDRESS": "ar@msp.example.com"}.items():
        monkeypatch.setenv(f"CASHRAIL_SMTP_{name}", value)
    assert dunning(environment="sandbox", as_of=AS_OF)["notices"]
    secret = bms.state.password
    httpx.put(f"{bms.url}/_admin/faults", json={"echo_credentials": True}).raise_for_status()
    bms.state.password = "Rotated-On-The-Psa-88"  # the hub's next sign-in is refused, and echoed
    echoed = httpx.post(f"{bms.url}/v2/security/authenticate",
                        data={"tenant": bms.state.company, "username": bms.state.username,
                              "password": secret, "grantType": "password"}).text
    assert secret in echoed, "the sandbox echoes what it was sent (the behaviour under test)"
    delivered = deliver_notifications(environment="sandbox")
    tickets = [t for t in httpx.get(f"{bms.url}/_admin/records/tickets").json()
               if "Cashrail-Key: overdue:" in t["Details"]]
    assert tickets == [], "no ticket was filed: the PSA refused the hub"
    assert delivered["pending"] and all("Invalid tenant" in row["error"] and "password '***'" in row["error"]
                                        for row in delivered["pending"]), delivered
    _nowhere(web, prefect_backend, caplog, repr(delivered), [secret])
