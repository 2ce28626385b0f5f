"""The BMS connector passes the shared connector conformance suite against its sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.base import StreamSpec
from connectors.bms import BmsConnector, BmsSecrets, BmsSettings
from connectors.http import RetryPolicy
from connectors.sandbox.bms import SandboxServer
from hub.sync import cards
from tests.connectors.conformance import ConnectorConformance, SandboxControl

#: the sandbox's stream and a text field of its list payload, per connector stream
TOUCHED = {"organisations": ("accounts", "AccountName"), "contacts": ("contacts", "FirstName"),
           "contracts": ("contracts", "ContractName"), "tickets": ("tickets", "Title"),
           "invoices": ("invoices", "InvoiceNumber")}


@pytest.fixture(scope="module")
def bms_sandbox() -> Iterator[SandboxServer]:
    # Key order: Kaseya documents no order for its lists, so the hub is held to the harder one.
    with SandboxServer(records=120, seed=4, time_zone="Asia/Tokyo", key_order=True) as server:
        yield server


class TestBmsConformance(ConnectorConformance):
    @pytest.fixture
    def make_connector(self, bms_sandbox: SandboxServer):
        def make(secrets: dict[str, Any] | None) -> BmsConnector:
            settings = BmsSettings(company=bms_sandbox.state.company, username=bms_sandbox.state.username,
                                   server_url=bms_sandbox.url, sandbox=True, time_zone="Asia/Tokyo", page_size=5,
                                   rate_limit_per_hour=0)
            password = (secrets or {}).get("password") or SecretStr(bms_sandbox.state.password)
            return BmsConnector(settings, BmsSecrets(password=password),
                                retry=RetryPolicy(max_attempts=8, base_delay=0.01, jitter=0.1))

        return make

    @pytest.fixture
    def hub_card_spec(self, bms_sandbox: SandboxServer) -> cards.CardSpec:
        return cards.CardSpec(name="psa", kind="bms", environment="sandbox", settings={
            "company": bms_sandbox.state.company, "username": bms_sandbox.state.username,
            "server_url": bms_sandbox.url, "sandbox": True, "time_zone": "Asia/Tokyo", "page_size": 1,
            "rate_limit_per_hour": 0, "lookback_minutes": 0},
            secrets={"password": SecretStr(bms_sandbox.state.password)})

    @pytest.fixture
    def touch(self, bms_sandbox: SandboxServer):
        def change(spec: StreamSpec, external_id: str, marker: str) -> None:
            stream, field = TOUCHED[spec.name]
            httpx.patch(f"{bms_sandbox.url}/_admin/records/{stream}/{external_id}",
                        json={field: marker}).raise_for_status()

        return change


@pytest.fixture
def control(bms_sandbox: SandboxServer) -> SandboxControl:
    return SandboxControl(url=bms_sandbox.url, stream="organisations", records="accounts", id_field="Id",
                          name_field="AccountName",
                          faults={"rate_429": 0.1, "rate_5xx": 0.05, "retry_after": 0, "seed": 5},
                          calm={"rate_429": 0, "rate_5xx": 0})
