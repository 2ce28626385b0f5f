"""A taken payment on an ERP invoice (Business Central sandbox, BlueSnap sandbox) with the mail
sandbox as the SMTP server: what refund, chargeback and webhook tests start from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from connectors.sandbox.mail import MailSandbox
from hub.collections import collect
from hub.platform.db import session
from hub.platform.models import Charge, Invoice, InvoiceCollection, NotificationMessage
from tests.collections.collect_world import ENV, World
from tests.collections.erp_world import ErpWorld, erp_card, open_erp_invoice

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
