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
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select

from connectors.registry import connector_class
from hub.platform.db import session
from hub.platform.errors import CashrailError
from hub.platform.models import ENTITY_TABLES
from hub.platform.settings import get_settings
from hub.sync import cards

DEMO_ENVIRONMENT = "sandbox"


class SandboxStartError(CashrailError, RuntimeError):
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


#: every bundled sandbox: the source systems above, the payment gateway and the mail server
SANDBOX_MODULES: dict[str, str] = {
    **{kind: system.module for kind, system in SYSTEMS.items()},
    "bluesnap": "connectors.sandbox.bluesnap",
    "mail": "connectors.sandbox.mail",
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
    data_dir = get_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"sandbox-{kind}.log"
    args = [sys.executable, "-m", SANDBOX_MODULES[kind], "--records", str(records), "--seed", str(seed), "--port", "0"]
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

    from hub.billing import plans as plan_service
    from hub.billing import setup
    from hub.platform.models import Organisation, OrganisationLink, Product, ProgramType, ReasonCode

    with session(environment) as s:
        if not s.execute(sa_select(ReasonCode).where(ReasonCode.code == "NEW")).scalars().first():
            setup.create_reason_code(s, "NEW", ["New"], default_for=["New"], description="New subscription")
        if not s.execute(sa_select(ProgramType).where(ProgramType.name == "Managed services")).scalars().first():
            setup.create_program_type(s, "Managed services")
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
            plan = plan_service.create_plan(s, plan_service.PlanRequest(
                name=f"Managed services for {customer.name}", connector=erp_connector, customer=customer.external_id,
                program_type="Managed services", billing_period_type="Monthly", global_start=start, fixed_cycles=12,
                renewal_notice=True, renewal_notice_days=30))
            for item in items[:2]:
                plan_service.add_line(s, plan.id, product=item.number, quantity=Decimal("5"),  # type: ignore[arg-type]
                                       sales_price=item.unit_price or Decimal("10"), currency=customer.currency or "USD")
            plan_service.set_plan_status(s, plan.id, "Published")  # type: ignore[arg-type]
            ids.append(plan.id)
        return ids  # type: ignore[return-value]


def erp_documents_per_action(environment: str, info: dict[str, Any]) -> bool:
    """True when every posted action has exactly one posted invoice and no sales order left."""
    from sqlalchemy import select as sa_select

    from hub.platform.models import SubscriptionAction

    with session(environment) as s:
        keys = [a.key for a in s.execute(sa_select(SubscriptionAction).where(SubscriptionAction.status == "Posted")).scalars()]
    with _admin(info) as client:
        for key in keys:
            docs = client.get("/_admin/documents", params={"externalDocumentNumber": key}).json()
            if docs["salesOrders"] or len(docs["salesInvoices"]) != 1:
                return False
    return bool(keys)


# --- collections: cards captured through the gateway's page, charges, dunning, notifications --

GATEWAY_CONNECTOR = "demo-gateway"
#: the test cards the demo's customers enter (connectors/sandbox/bluesnap/cards.py)
DEMO_CARDS = (
    ("4111111111111111", "approves"),
    ("4000000000000341", "declines once (insufficient funds), then approves on the retry"),
    ("4000000000000069", "hard decline: expired card"),
)


def install_gateway(info: dict[str, Any]) -> str:
    """(Re)create the demo's BlueSnap card for the gateway sandbox; returns its name."""
    with session(DEMO_ENVIRONMENT) as s:
        try:
            cards.delete(s, GATEWAY_CONNECTOR)
        except cards.CardError:
            pass
        cards.create(s, cards.CardSpec(
            name=GATEWAY_CONNECTOR, kind="bluesnap", environment=DEMO_ENVIRONMENT,
            settings={"environment_url": info["url"], "username": info["username"], "merchant_id": info["merchant_id"],
                      "sandbox": True},
            secrets={"password": SecretStr(info["password"]), "ipn_secret": SecretStr(info["ipn_secret"])}))
    return GATEWAY_CONNECTOR


def use_mail_sandbox(info: dict[str, Any]) -> None:
    """Point this process's notification e-mails at the mail sandbox."""
    os.environ.update({"CASHRAIL_SMTP_HOST": info["smtp_host"], "CASHRAIL_SMTP_PORT": str(info["smtp_port"]),
                       "CASHRAIL_SMTP_SECURITY": "none", "CASHRAIL_SMTP_FROM_ADDRESS": "accounts@demo-msp.example",
                       "CASHRAIL_SMTP_FROM_NAME": "Demo MSP Accounts"})


def capture_demo_cards(environment: str, plans: list[int]) -> list[dict[str, Any]]:
    """For the customers of ``plans``: send the card form to a contact of the linked PSA
    organisation, enter one of :data:`DEMO_CARDS` on the gateway's page as the contact would,
    and complete the request. Returns what was captured."""
    from connectors.sandbox.bluesnap import fill_card_form
    from hub.collections import payments
    from hub.collections.recipients import contact_record
    from hub.platform.models import Contact, Organisation, OrganisationLink, SubscriptionPlan

    with session(environment) as s:
        payers = []
        for plan_id in plans:
            plan = s.get(SubscriptionPlan, plan_id)
            link = s.execute(select(OrganisationLink).where(
                OrganisationLink.erp_organisation_id == plan.organisation_id)).scalar_one()  # type: ignore[union-attr]
            psa = s.get(Organisation, link.psa_organisation_id)
            contact = s.execute(select(Contact).where(
                Contact.connector_id == psa.connector_id, Contact.organisation_external_id == psa.external_id,  # type: ignore[union-attr]
                Contact.email.is_not(None), Contact.is_deleted.is_(False)).order_by(
                Contact.is_billing_contact.desc(), Contact.id)).scalars().first()
            if contact is not None:
                payers.append((psa.id, psa.name, contact.id, contact_record(contact).name))  # type: ignore[union-attr]
    captured = []
    for n, (org_id, org_name, contact_id, holder) in enumerate(payers):
        number, behaviour = DEMO_CARDS[n] if n < len(DEMO_CARDS) else DEMO_CARDS[0]
        request = payments.send_card_form(environment, org_id, contact_id, actor="demo")
        fill_card_form(request.url or "", number, holder or org_name, "12/30", "123")
        method = payments.complete_card_request(environment, request.id, actor="demo")  # type: ignore[arg-type]
        captured.append({"customer": org_name, "card": f"{method.card_brand} •••• {method.card_last4}",
                         "behaviour": behaviour})
    return captured


def collections_report(environment: str, gateway: dict[str, Any], psa: dict[str, Any], mail: dict[str, Any],
                       psa_tickets_before: int) -> dict[str, Any]:
    """What the hub says it did, beside what the gateway, the PSA and the mail server recorded."""
    from hub.platform.models import Charge, NotificationDelivery, NotificationMessage

    with session(environment) as s:
        charges = list(s.execute(select(Charge)).scalars())
        notes = list(s.execute(select(NotificationMessage)).scalars())
        deliveries = list(s.execute(select(NotificationDelivery)).scalars())
    approved = [c for c in charges if c.status == "succeeded"]
    declined = [c for c in charges if c.status == "declined"]
    retried_ok = {c.invoice_id for c in approved if c.attempt > 1}
    collected: dict[str, str] = {}
    for c in approved:
        collected[c.currency] = str(Decimal(collected.get(c.currency, "0")) + c.amount)
    with httpx.Client(timeout=60) as client:
        transactions = client.get(f"{gateway['url']}/_admin/transactions").json()
        mail_counts = client.get(f"{mail['url']}/_admin/counts").json()
    with _admin(psa) as client:
        psa_tickets = int(client.get("/_admin/counts").json()["tickets"]) - psa_tickets_before
    gateway_approved = [t for t in transactions if t.get("cardTransactionType") == "AUTH_CAPTURE"]
    emails = [d for d in deliveries if d.channel == "email" and d.status == "sent"]
    tickets = [d for d in deliveries if d.channel == "ticket" and d.status == "sent"]
    report = {
        "payments": {
            "collected": len(approved), "amount_by_currency": collected,
            "recorded_in_source_system": sum(1 for c in approved if c.recorded_at is not None),
            "declines": len(declined),
            "declines_retried_and_collected": len(retried_ok),
            "declines_stopped_hard": sum(1 for c in declined if c.hard_decline),
            "gateway_transactions_approved": len(gateway_approved),
        },
        "notifications": {
            "by_type": {t: sum(1 for n in notes if n.type == t) for t in sorted({n.type for n in notes})},
            "overdue_notices": sum(1 for n in notes if n.type.startswith("overdue_")),
            "emails_sent": len(emails), "mail_sandbox_received": int(mail_counts["messages"]),
            "tickets_raised": len(tickets), "psa_sandbox_tickets_created": psa_tickets,
            "undelivered": sum(1 for n in notes if n.status != "delivered"),
        },
    }
    report["matches_sandboxes"] = (
        len(approved) == len(gateway_approved) and len(emails) == report["notifications"]["mail_sandbox_received"]
        and len(tickets) == psa_tickets)
    return report
