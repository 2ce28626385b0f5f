"""``cashrail demo`` and ``cashrail sandbox``: the bundled sandboxes as local processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select

from connectors.registry import connector_class
from hub import cards
from hub.db import session
from hub.models import ENTITY_TABLES
from hub.settings import get_settings

DEMO_ENVIRONMENT = "sandbox"


class SandboxStartError(RuntimeError):
    pass


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
    extra_args: tuple[str, ...] = ()


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


def _state_file() -> Path:
    return get_settings().data_dir / "sandboxes.json"


def _read_state() -> dict[str, Any]:
    try:
        return dict(json.loads(_state_file().read_text()))
    except (OSError, ValueError):
        return {}


def stop_background_sandboxes() -> list[str]:
    """Stop the sandboxes a previous demo left running; returns the kinds stopped."""
    stopped = []
    for kind, entry in _read_state().items():
        try:
            os.kill(int(entry["pid"]), signal.SIGTERM)
            stopped.append(kind)
        except (ProcessLookupError, KeyError, ValueError, TypeError):
            pass
    _state_file().unlink(missing_ok=True)
    return stopped


def start_background_sandbox(kind: str, records: int, seed: int, timeout: float = 180.0) -> dict[str, Any]:
    """Start a sandbox as a detached process that outlives this command; returns its info line."""
    system = SYSTEMS[kind]
    data_dir = get_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"sandbox-{kind}.log"
    args = [sys.executable, "-m", system.module, "--records", str(records), "--seed", str(seed), "--port", "0"]
    if kind == "business_central":
        args += ["--cert-dir", str((data_dir / "bc-sandbox-tls").resolve())]
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxStartError(f"the {kind} sandbox exited at start (see {log})")
        first = log.read_text().splitlines()[:1]
        if first and first[0].startswith("{"):
            info = json.loads(first[0])
            state = {**_read_state(), kind: {"pid": proc.pid, "url": info["url"]}}
            _state_file().write_text(json.dumps(state))
            os.chmod(_state_file(), 0o600)
            return dict(info)
        time.sleep(0.1)
    proc.terminate()
    raise SandboxStartError(f"the {kind} sandbox did not start within {timeout:.0f}s (see {log})")


def _admin(info: dict[str, Any]) -> httpx.Client:
    verify: Any = True
    if info.get("ca_path"):
        import ssl

        verify = ssl.create_default_context(cafile=info["ca_path"])
    return httpx.Client(base_url=info["url"], verify=verify, timeout=60)


def sandbox_counts(kind: str, info: dict[str, Any]) -> dict[str, int]:
    """What a sandbox serves, per hub stream."""
    with _admin(info) as client:
        counts = client.get("/_admin/counts").json()
    return {stream: int(counts[key]) for stream, key in SYSTEMS[kind].counted_as.items()}


def accept_license(info: dict[str, Any]) -> None:
    """Do what the ERP's administrator does in seed 003: accept the license agreement."""
    with _admin(info) as client:
        client.post(f"/_admin/license/{info['client_id']}/accept").raise_for_status()


def hub_counts(environment: str, connector_name: str) -> dict[str, int]:
    """Live (not deleted) rows per stream of one connector."""
    with session(environment) as s:
        card = cards.get(s, connector_name)
        result = {}
        for spec in connector_class(card.kind).streams:
            t = ENTITY_TABLES[spec.entity].__table__
            result[spec.name] = s.connection().execute(
                select(func.count()).select_from(t).where(
                    t.c.environment == environment, t.c.connector_id == card.id, t.c.is_deleted.is_(False)
                )
            ).scalar_one()
        return result


def install_demo_connector(kind: str, info: dict[str, Any]) -> str:
    """(Re)create the demo connector card for a sandbox; returns its name."""
    system = SYSTEMS[kind]
    with session(DEMO_ENVIRONMENT) as s:
        try:
            cards.delete(s, system.connector)
        except cards.CardError:
            pass
    spec = cards.CardSpec(name=system.connector, kind=kind, environment=DEMO_ENVIRONMENT,
                          settings=system.settings(info), secrets=system.secrets(info))
    with session(DEMO_ENVIRONMENT) as s:
        cards.create(s, spec)
    return system.connector


def test_and_set_status(name: str) -> tuple[str, str | None]:
    """Test Connection, then record the status it leads to (active, pending license, error)."""
    with session(DEMO_ENVIRONMENT) as s:
        card = cards.get(s, name)
    with cards.instantiate(card) as connector:
        report = connector.test_connection()
    status, reason = cards.status_after_test(report)
    with session(DEMO_ENVIRONMENT) as s:
        cards.set_status(s, name, status, reason)
    return status, reason


def seed_billing(environment: str, erp_connector: str, psa_connector: str, plans: int = 5) -> list[int]:
    """Published monthly plans for the first linked customers, each billing one ERP item."""
    from datetime import date
    from decimal import Decimal

    from sqlalchemy import select as sa_select

    from hub import subscriptions
    from hub.models import Organisation, OrganisationLink, Product, ProgramType, ReasonCode

    with session(environment) as s:
        if not s.execute(sa_select(ReasonCode).where(ReasonCode.code == "NEW")).scalars().first():
            subscriptions.create_reason_code(s, "NEW", ["New"], default_for=["New"], description="New subscription")
        if not s.execute(sa_select(ProgramType).where(ProgramType.name == "Managed services")).scalars().first():
            subscriptions.create_program_type(s, "Managed services")
        erp_card = cards.get(s, erp_connector)
        linked = s.execute(
            sa_select(Organisation).join(OrganisationLink, OrganisationLink.erp_organisation_id == Organisation.id)
            .where(Organisation.connector_id == erp_card.id).order_by(Organisation.id).limit(plans)).scalars().all()
        items = s.execute(sa_select(Product).where(Product.connector_id == erp_card.id, Product.is_blocked.is_(False))
                          .order_by(Product.id).limit(3)).scalars().all()
        today = date.today()
        start = date(today.year - 1 if today.month <= 2 else today.year, (today.month - 3) % 12 + 1, 1)
        ids = []
        for customer in linked:
            plan = subscriptions.create_plan(s, subscriptions.PlanRequest(
                name=f"Managed services for {customer.name}", connector=erp_connector, customer=customer.external_id,
                program_type="Managed services", billing_period_type="Monthly", global_start=start, fixed_cycles=12,
                renewal_notice=True, renewal_notice_days=30))
            for item in items[:2]:
                subscriptions.add_line(s, plan.id, product=item.number, quantity=Decimal("5"),  # type: ignore[arg-type]
                                       sales_price=item.unit_price or Decimal("10"), currency=customer.currency or "USD")
            subscriptions.set_plan_status(s, plan.id, "Published")  # type: ignore[arg-type]
            ids.append(plan.id)
        return ids  # type: ignore[return-value]


def erp_documents_per_action(environment: str, info: dict[str, Any]) -> bool:
    """True when every posted action has exactly one posted invoice and no sales order left."""
    from sqlalchemy import select as sa_select

    from hub.models import SubscriptionAction

    with session(environment) as s:
        keys = [a.key for a in s.execute(sa_select(SubscriptionAction).where(SubscriptionAction.status == "Posted")).scalars()]
    with _admin(info) as client:
        for key in keys:
            docs = client.get("/_admin/documents", params={"externalDocumentNumber": key}).json()
            if docs["salesOrders"] or len(docs["salesInvoices"]) != 1:
                return False
    return bool(keys)
