"""The company's id is kept with the card: a sync run after the first asks Business Central for
no company list (one request per stream, not a lookup before them), until the settings change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.business_central.client import BusinessCentralConnector
from connectors.sandbox.business_central import SandboxServer
from flows.sync import sync_connector
from hub.platform.db import session
from hub.sync import cards
from tests.erp_helpers import erp_card


@pytest.fixture
def erp() -> Iterator[SandboxServer]:
    with SandboxServer(records=20, seed=3, license_accepted=True) as server:
        yield server


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The company lists the connectors asked Business Central for (the sandbox answers them)."""
    asked: list[str] = []
    real = BusinessCentralConnector.list_companies

    def counted(self: BusinessCentralConnector) -> Any:
        asked.append(self.settings.company)
        return real(self)

    monkeypatch.setattr(BusinessCentralConnector, "list_companies", counted)
    return asked


def _kept() -> dict[str, Any] | None:
    with session("sandbox") as s:
        return cards.get(s, "erp").resolved


def test_a_second_sync_run_asks_for_no_company_list_until_the_company_setting_changes(
    hub_db: str, prefect_backend: Any, erp: SandboxServer, lookups: list[str]
) -> None:
    erp_card(erp)  # the first sync: five streams, one lookup between them
    assert len(lookups) == 1
    kept = _kept()
    assert kept is not None and kept["business_central.company"]["id"] == erp.state.company.id

    summary = sync_connector(connector="erp", environment="sandbox")
    assert len(lookups) == 1  # the kept id served every stream
    assert all(not c["inserted"] for c in summary["streams"].values())

    with session("sandbox") as s:  # the same company, named another way: settings changed
        cards.set_status(s, "erp", "deactivated")
        cards.update_settings(s, "erp", settings={"company": erp.state.company.id})
        cards.set_status(s, "erp", "active")
    assert _kept() is None
    sync_connector(connector="erp", environment="sandbox")
    assert len(lookups) == 2
    assert _kept() is not None


def test_a_card_activated_after_its_test_connection_asks_for_no_company_list_on_its_first_sync(
    hub_db: str, prefect_backend: Any, erp: SandboxServer, lookups: list[str]
) -> None:
    """Test Connection looks the company up (its "company" check): a passing test keeps the id with
    the card, as a sync run does, so the first sync's streams start without a lookup before them."""
    c = erp.credentials
    spec = cards.CardSpec(name="erp", kind="business_central", environment="sandbox", settings={
        "tenant_id": c["tenant_id"], "client_id": c["client_id"], "environment": c["environment"],
        "company": c["company"], "api_url": erp.url, "authority_url": erp.url, "ca_bundle": erp.ca_path},
        secrets={"client_secret": SecretStr(c["client_secret"])})
    with session("sandbox") as s:
        cards.create(s, spec)
    with session("sandbox") as s:
        report = cards.test_connection(cards.get(s, "erp"))
        assert report.ok, report.checks
        cards.record_test(s, "erp", report)
        cards.set_status(s, "erp", "active")
    tested = len(lookups)
    kept = _kept()
    assert tested >= 1 and kept is not None and kept["business_central.company"]["id"] == erp.state.company.id

    summary = sync_connector(connector="erp", environment="sandbox")
    assert all(c["inserted"] for name, c in summary["streams"].items() if name in ("customers", "items"))
    assert len(lookups) == tested  # the first sync used the id the test kept
