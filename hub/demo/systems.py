"""The bundled sandboxes and the demo connector card that talks to each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from connectors.registry import role_of

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
    #: a PSA's Service Ticket Configuration for the demo's notifications, in the names its
    #: sandbox lists (empty: the hub's defaults already are)
    ticket_settings: dict[str, str] = field(default_factory=dict)


#: the source systems the demo can sync: a PSA (``--psa``), then the ERP
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
    "connectwise": DemoSystem(
        kind="connectwise",
        connector="demo-psa",
        module="connectors.sandbox.connectwise",
        counted_as={"organisations": "companies", "contacts": "contacts", "contracts": "agreements",
                    "tickets": "tickets", "invoices": "invoices"},
        settings=lambda info: {
            "site": info["url"], "company_id": info["company_id"], "public_key": info["public_key"],
            "client_id": info["client_id"], "sandbox": True, "page_size": 1000, "detail_concurrency": 8,
            "ticket_board": "Accounts Receivable",
        },
        secrets=lambda info: {"private_key": SecretStr(info["private_key"])},
        ticket_settings={"destination": "Accounts Receivable", "priority": "Priority 3 - Normal Response",
                         "issue_type": "Billing"},
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
#: the PSAs the demo can run against (``cashrail demo --psa``), the default first
PSA_KINDS: tuple[str, ...] = tuple(kind for kind in SYSTEMS if role_of(kind) == "psa")

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
