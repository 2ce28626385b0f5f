"""The Business Central connector passes the shared connector conformance suite against its sandbox.

Real msal against the sandbox's identity server, real HTTPS with the sandbox's private CA;
REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE are left as the machine sets them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.base import StreamSpec
from connectors.business_central import BcSecrets, BcSettings, BusinessCentralConnector
from connectors.http import RetryPolicy
from connectors.sandbox.business_central import SandboxServer
from hub.sync import cards
from tests.connectors.conformance import ConnectorConformance, SandboxControl

#: a text field of each entity set that the hub stores as read
TOUCHED = {"customers": "displayName", "contacts": "displayName", "items": "displayName",
           "salesInvoices": "externalDocumentNumber", "salesOrders": "externalDocumentNumber"}


@pytest.fixture(scope="module")
def bc_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(records=150, seed=7, license_accepted=True) as server:
        yield server


class TestBusinessCentralConformance(ConnectorConformance):
    @pytest.fixture
    def make_connector(self, bc_sandbox: SandboxServer):
        creds = bc_sandbox.credentials

        def make(secrets: dict[str, Any] | None) -> BusinessCentralConnector:
            settings = BcSettings(
                tenant_id=creds["tenant_id"],
                client_id=creds["client_id"],
                environment=creds["environment"],
                company=creds["company"],
                api_url=bc_sandbox.url,
                authority_url=bc_sandbox.url,
                ca_bundle=bc_sandbox.ca_path,
                page_size=10,
                timeout_seconds=10,
            )
            secret = (secrets or {}).get("client_secret") or SecretStr(creds["client_secret"])
            return BusinessCentralConnector(
                settings,
                BcSecrets(client_secret=secret),
                retry=RetryPolicy(max_attempts=8, base_delay=0.05, jitter=0.1),
            )

        return make

    @pytest.fixture
    def hub_card_spec(self, bc_sandbox: SandboxServer) -> cards.CardSpec:
        creds = bc_sandbox.credentials
        return cards.CardSpec(name="erp", kind="business_central", environment="sandbox", settings={
            "tenant_id": creds["tenant_id"], "client_id": creds["client_id"], "environment": creds["environment"],
            "company": creds["company"], "api_url": bc_sandbox.url, "authority_url": bc_sandbox.url,
            "ca_bundle": bc_sandbox.ca_path, "page_size": 1, "lookback_minutes": 0},
            secrets={"client_secret": SecretStr(creds["client_secret"])})

    @pytest.fixture
    def touch(self, bc_sandbox: SandboxServer):
        def change(spec: StreamSpec, external_id: str, marker: str) -> None:
            httpx.patch(f"{bc_sandbox.url}/_admin/records/{spec.path}/{external_id}",
                        json={TOUCHED[spec.path]: marker}, verify=bc_sandbox.ca_path).raise_for_status()

        return change


@pytest.fixture
def control(bc_sandbox: SandboxServer) -> SandboxControl:
    limits = httpx.get(f"{bc_sandbox.url}/_admin/limits", verify=bc_sandbox.ca_path).json()
    return SandboxControl(url=bc_sandbox.url, stream="customers", records="customers", id_field="id",
                          name_field="displayName", faults={"rate_5xx": 0.05, "retry_after": 0, "seed": 5},
                          calm={"rate_5xx": 0}, limits={"rate_limit": [40, 0.5], "retry_after_on_429": 0},
                          calm_limits={"rate_limit": limits["rate_limit"],
                                       "retry_after_on_429": limits["retry_after_on_429"]},
                          verify=bc_sandbox.ca_path)
