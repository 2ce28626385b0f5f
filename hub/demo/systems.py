"""The bundled sandboxes and the demo connector card that talks to each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

DEMO_ENVIRONMENT = "sandbox"
GATEWAY_CONNECTOR = "demo-gateway"


@dataclass(frozen=True)
class DemoSystem:
    """One bundled sandbox and the demo connector card that talks to it."""

    kind: str
    connector: str
    module: str
    #: hub stream -> the sandbox's name for it in /_admin/counts
    counted_as: dict[str, str]
    settings: Callable[[dict[str, Any]], dict[str, Any]]
    secrets: Callable[[dict[str, Any]], dict[str, SecretStr]]


#: the source systems the demo syncs: the PSA first, then the ERP
SYSTEMS: dict[str, DemoSystem] = {
    "bms": DemoSystem(
        kind="bms",
        connector="demo-psa",
        module="connectors.sandbox.bms",
        counted_as={"organisations": "accounts", "contacts": "contacts", "contracts": "contracts",
                    "tickets": "tickets", "invoices": "invoices"},
        settings=lambda info: {
            "company": info["company"], "username": info["username"], "server_url": info["url"], "sandbox": True,
            "time_zone": info.get("time_zone", "UTC"), "page_size": 500,
            "rate_limit_per_hour": 0,  # a loopback sandbox has no hourly quota
            "detail_concurrency": 8,
        },
        secrets=lambda info: {"password": SecretStr(info["password"])},
    ),
    "business_central": DemoSystem(
        kind="business_central",
        connector="demo-erp",
        module="connectors.sandbox.business_central",
        counted_as={"customers": "customers", "contacts": "contacts", "items": "items",
                    "sales_invoices": "salesInvoices", "sales_orders": "salesOrders"},
        settings=lambda info: {
            "tenant_id": info["tenant_id"], "client_id": info["client_id"], "environment": info["environment"],
            "company": info["company"], "api_url": info["url"], "authority_url": info["url"], "sandbox": True,
            "ca_bundle": info["ca_path"], "page_size": 1000,
        },
        secrets=lambda info: {"client_secret": SecretStr(info["client_secret"])},
    ),
}
PSA, ERP = SYSTEMS["bms"], SYSTEMS["business_central"]

#: every bundled sandbox: the source systems above, the payment gateway and the mail server
SANDBOX_MODULES: dict[str, str] = {
    **{kind: system.module for kind, system in SYSTEMS.items()},
    "bluesnap": "connectors.sandbox.bluesnap",
    "mail": "connectors.sandbox.mail",
}

#: the test cards the demo's customers enter (connectors/sandbox/bluesnap/cards.py)
DEMO_CARDS = (
    ("4111111111111111", "approves"),
    ("4000000000000341", "declines once (insufficient funds), then approves on the retry"),
    ("4000000000000069", "hard decline: expired card"),
)
