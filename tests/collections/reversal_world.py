"""A taken payment on an ERP invoice (Business Central sandbox, BlueSnap sandbox) with the mail
sandbox as the SMTP server: what refund, chargeback and webhook tests start from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.payments import ChargeApproved
from connectors.sandbox.business_central import SandboxServer
from connectors.sandbox.mail import MailSandbox
from connectors.sandbox.net import LoopbackServer
from hub.collections import collect
from hub.collections.payments import open_gateway
from hub.platform.db import session
from hub.platform.models import Charge, Invoice, InvoiceCollection, NotificationMessage, Organisation, PaymentMethod
from hub.sync import cards
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice
from tests.collections.erp_world import ErpWorld, erp_card, open_erp_invoice
from tests.connectors.payments.test_integration import wait_for as wait_for  # re-exported for the tests

SMTP_FROM = "ar@msp.example.com"


@dataclass
class Paid:
    """One ERP invoice paid in full through the gateway: the hub's invoice id, the ERP's invoice, the charge."""

    ew: ErpWorld
    mail: MailSandbox
    invoice_id: int
    erp: dict[str, Any]
    charge_key: str
    transaction_id: str
    amount: Decimal


@dataclass
class PsaCustomer:
    """An autopay customer of the PSA (BMS sandbox, tickets filed under its account) with an open invoice."""

    world: World
    mail: MailSandbox
    organisation_id: int
    contact_id: int
    method_id: int
    invoice_id: int
    amount: Decimal


class HubServer(LoopbackServer):
    """The hub's web app on loopback: where the gateway sandbox sends its webhooks."""

    thread_name = "hub-web"

    def __init__(self) -> None:
        from hub.web import create_app

        super().__init__("127.0.0.1", 0)
        self.app = create_app()


@pytest.fixture
def hub_ipn(world: World) -> Iterator[HubServer]:
    """The hub's web app live, and the gateway sandbox sending it its IPNs (quick retries)."""
    with HubServer() as server:
        httpx.put(f"{world.gateway.url}/_admin/ipn", json={
            "url": f"{server.url}/api/gateway/ipn/{ENV}/gateway", "retry_seconds": 0.05, "max_retries": 3,
        }).raise_for_status()
        yield server
        httpx.put(f"{world.gateway.url}/_admin/ipn", json={"url": None}).raise_for_status()


@pytest.fixture
def psa_customer(world: World, mail: MailSandbox) -> PsaCustomer:
    org, contact = customer(world, "1", "Customer 1")
    account = next(a for a in httpx.get(f"{world.psa.url}/_admin/records/accounts").json() if str(a["Id"]) == "1")
    with session(ENV) as s:
        row = s.execute(select(Organisation).where(Organisation.id == org)).scalar_one()
        row.raw = account
        cards.set_status(s, "psa", "active")
    method = capture_card(org, contact)
    return PsaCustomer(world, mail, org, contact, method.id or 0, invoice(world, "1", "2", amount="5.00"),
                       Decimal("5.00"))


def lost_charge(who: PsaCustomer, key: str = "cr-lost-1", invoice_id: int | None = None) -> str:
    """A charge the hub sent whose answer it never heard (its process died): the hub's row says
    ``unknown``, the gateway made the transaction (and sends its webhook). The transaction id ("" when
    the card declined it)."""
    with session(ENV) as s:
        method = s.execute(select(PaymentMethod).where(PaymentMethod.id == who.method_id)).scalar_one()
        s.add(Charge(environment=ENV, key=key, invoice_id=invoice_id or who.invoice_id,
                     organisation_id=who.organisation_id,
                     payment_method_id=who.method_id, amount=who.amount, currency="GBP", status="unknown",
                     charged_on=date(2012, 8, 10), error="the answer was lost"))
        shopper = method.vaulted_shopper_id or ""
    gateway = open_gateway(ENV)
    try:
        made = gateway.charge(vaulted_shopper_id=shopper, amount=who.amount, currency="GBP",
                              merchant_transaction_id=key)
    finally:
        gateway.close()
    return made.transaction_id if isinstance(made, ChargeApproved) else ""


def deliveries(world: World) -> list[dict[str, Any]]:
    return list(httpx.get(f"{world.gateway.url}/_admin/ipn/deliveries").json())


def all_delivered(world: World) -> bool:
    rows = deliveries(world)
    return bool(rows) and all(d["status"] in ("delivered", "dropped", "failed") for d in rows)


@pytest.fixture
def mail(monkeypatch: pytest.MonkeyPatch) -> Iterator[MailSandbox]:
    with MailSandbox() as box:
        for name, value in {"HOST": box.host, "PORT": str(box.smtp_port), "SECURITY": "none",
                            "FROM_ADDRESS": SMTP_FROM}.items():
            monkeypatch.setenv(f"CASHRAIL_SMTP_{name}", value)
        yield box


@pytest.fixture
def paid(world: World, mail: MailSandbox) -> Iterator[Paid]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        ew = ErpWorld(world, erp, erp_card(erp, post_payments=True), True)
        hub_id, found = open_erp_invoice(ew, 0)
        [row] = collect.pay(ENV, [hub_id], actor="finance@example.com")
        assert row.status == "approved", row
        with session(ENV) as s:
            charge = s.execute(select(Charge).where(Charge.invoice_id == hub_id)).scalar_one()
            assert charge.posted_at is not None
        yield Paid(ew, mail, hub_id, found, charge.key, charge.transaction_id or "", Decimal(str(found["remainingAmount"])))


def hub_invoice(invoice_id: int) -> tuple[str | None, Decimal | None, str | None]:
    """(status, amount due, why it is not charged automatically) of a hub invoice."""
    with session(ENV) as s:
        invoice = s.execute(select(Invoice).where(Invoice.id == invoice_id)).scalar_one()
        held = s.execute(select(InvoiceCollection).where(InvoiceCollection.invoice_id == invoice_id)).scalar_one()
        return invoice.status, invoice.amount_due, held.stopped_reason


def queued(kind: str) -> list[dict[str, Any]]:
    with session(ENV) as s:
        return [dict(m.fields, key=m.key) for m in s.execute(
            select(NotificationMessage).where(NotificationMessage.type == kind)).scalars()]


def mails(box: MailSandbox, subject_start: str) -> list[dict[str, Any]]:
    return [m.summary() for m in box.messages() if str(m.message["Subject"]).startswith(subject_start)]
