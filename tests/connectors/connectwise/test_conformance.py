"""The ConnectWise connector passes the shared connector conformance suite against its sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.base import StreamSpec
from connectors.connectwise import ConnectWiseConnector, ConnectWiseSecrets, ConnectWiseSettings
from connectors.http import RetryPolicy
from connectors.sandbox.connectwise import SandboxServer
from hub.sync import cards
from tests.connectors.conformance import ConnectorConformance, SandboxControl

#: the sandbox's record set and a text field of it, per connector stream
TOUCHED = {"organisations": ("companies", "name"), "contacts": ("contacts", "firstName"),
           "contracts": ("agreements", "name"), "tickets": ("tickets", "summary"),
           "invoices": ("invoices", "invoiceNumber")}


@pytest.fixture(scope="module")
def cw_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(records=400, seed=4) as server:
        yield server


def make_settings(server: SandboxServer, **override: Any) -> ConnectWiseSettings:
    creds = server.credentials
    return ConnectWiseSettings(site=server.url, company_id=creds["company_id"], public_key=creds["public_key"],
                               client_id=creds["client_id"], sandbox=True, page_size=15,
                               ticket_board="Accounts Receivable", **override)


class TestConnectWiseConformance(ConnectorConformance):
    @pytest.fixture
    def make_connector(self, cw_sandbox: SandboxServer):
        def make(secrets: dict[str, Any] | None) -> ConnectWiseConnector:
            key = (secrets or {}).get("private_key") or SecretStr(cw_sandbox.credentials["private_key"])
            return ConnectWiseConnector(make_settings(cw_sandbox), ConnectWiseSecrets(private_key=key),
                                        retry=RetryPolicy(max_attempts=8, base_delay=0.01, jitter=0.1))

        return make

    @pytest.fixture
    def hub_card_spec(self, cw_sandbox: SandboxServer) -> cards.CardSpec:
        creds = cw_sandbox.credentials
        return cards.CardSpec(name="psa", kind="connectwise", environment="sandbox", settings={
            "site": cw_sandbox.url, "company_id": creds["company_id"], "public_key": creds["public_key"],
            "client_id": creds["client_id"], "sandbox": True, "page_size": 1, "lookback_minutes": 0,
            "ticket_board": "Accounts Receivable"},
            secrets={"private_key": SecretStr(creds["private_key"])})

    @pytest.fixture
    def touch(self, cw_sandbox: SandboxServer):
        def change(spec: StreamSpec, external_id: str, marker: str) -> None:
            records, field = TOUCHED[spec.name]
            httpx.patch(f"{cw_sandbox.url}/_admin/records/{records}/{external_id}",
                        json={field: marker}).raise_for_status()

        return change


@pytest.fixture
def control(cw_sandbox: SandboxServer) -> SandboxControl:
    return SandboxControl(url=cw_sandbox.url, stream="organisations", records="companies", id_field="id",
                          name_field="name", faults={"rate_429": 0.1, "rate_5xx": 0.05, "retry_after": 0, "seed": 5},
                          calm={"rate_429": 0, "rate_5xx": 0}, tokens=False)
