"""The ConnectWise connector passes the shared connector conformance suite against its sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.connectwise import ConnectWiseConnector, ConnectWiseSecrets, ConnectWiseSettings
from connectors.http import RetryPolicy
from connectors.sandbox.connectwise import SandboxServer
from tests.connectors.conformance import ConnectorConformance, SandboxControl


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
def control(cw_sandbox: SandboxServer) -> SandboxControl:
    return SandboxControl(url=cw_sandbox.url, stream="organisations", records="companies", id_field="id",
                          name_field="name", faults={"rate_429": 0.1, "rate_5xx": 0.05, "retry_after": 0, "seed": 5},
                          calm={"rate_429": 0, "rate_5xx": 0}, tokens=False)
