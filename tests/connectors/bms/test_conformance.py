"""The BMS connector passes the shared connector conformance suite against its sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.bms import BmsConnector, BmsSecrets, BmsSettings
from connectors.http import RetryPolicy
from connectors.sandbox.bms import SandboxServer
from tests.connectors.conformance import ConnectorConformance, SandboxControl


@pytest.fixture(scope="module")
def bms_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(records=120, seed=4, time_zone="Asia/Tokyo") as server:
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
def control(bms_sandbox: SandboxServer) -> SandboxControl:
    return SandboxControl(url=bms_sandbox.url, stream="organisations", records="accounts", id_field="Id",
                          name_field="AccountName",
                          faults={"rate_429": 0.1, "rate_5xx": 0.05, "retry_after": 0, "seed": 5},
                          calm={"rate_429": 0, "rate_5xx": 0})
