"""A small world for payment-method and collection tests: a live BlueSnap sandbox and a live BMS
sandbox as the invoices' source, their connector cards, customers, contacts and invoices."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors.sandbox import bluesnap, bms
from connectors.sandbox.bluesnap import fill_card_form
from hub.collections import payments
from hub.platform.db import session
from hub.platform.models import Connector, Contact, Invoice, Organisation, PaymentMethod
from hub.sync import cards
from tests.factories import bms_card

ENV = "sandbox"
#: how long the world's gateway card waits for an answer: long enough that a stalled machine never
#: loses one (a test that needs lost answers shortens it with ``lose_slow_answers``)
TIMEOUT_SECONDS = 30


@dataclass
class World:
    gateway: bluesnap.SandboxServer
    psa: bms.SandboxServer
    psa_card: int
    gateway_card: int

    def admin(self, path: str) -> Any:
        return httpx.get(f"{self.gateway.url}/_admin/{path}", timeout=10).json()

    def transactions(self, key: str | None = None) -> list[dict[str, Any]]:
        return [t for t in self.admin("transactions") if key is None or t["merchantTransactionId"] == key]

    def bms_payments(self, invoice_external_id: str) -> list[dict[str, Any]]:
        with session(ENV) as s:
            card = s.execute(select(Connector).where(Connector.id == self.psa_card)).scalar_one()
            connector = cards.instantiate(card)
        try:
            return connector.invoice_payments(invoice_external_id)  # type: ignore[attr-defined]
        finally:
            connector.close()


@pytest.fixture
def world(hub_db: str) -> Iterator[World]:
    with bluesnap.SandboxServer() as gateway, bms.SandboxServer(records=6) as psa:
        psa_card = bms_card("psa", url=psa.url).id
        spec = cards.CardSpec(
            name="gateway", kind="bluesnap", environment=ENV,
            settings={"environment_url": gateway.url, "username": gateway.state.username, "sandbox": True,
                      "merchant_id": gateway.state.merchant_id, "timeout_seconds": TIMEOUT_SECONDS},
            secrets={"password": SecretStr(gateway.state.password),
                     "ipn_secret": SecretStr(gateway.credentials["ipn_secret"])})
        with session(ENV) as s:
            gateway_card = cards.create(s, spec).id
            cards.set_status(s, "gateway", "active")
        yield World(gateway, psa, psa_card, gateway_card)  # type: ignore[arg-type]


def lose_slow_answers(world: World, timeout_seconds: float = 2, slow_response_seconds: float = 3) -> None:
    """The gateway card gives up on an answer after ``timeout_seconds``, and the gateway gives its slow
    answers (its slow test card, a "timeout" refund fault) only after ``slow_response_seconds``: lost."""
    assert slow_response_seconds > timeout_seconds, "a slow answer must come after the card gave up on it"
    with session(ENV) as s:
        card = s.execute(select(Connector).where(Connector.id == world.gateway_card)).scalar_one()
        card.settings = {**card.settings, "timeout_seconds": timeout_seconds}
    httpx.put(f"{world.gateway.url}/_admin/faults", json={"slow_response_seconds": slow_response_seconds},
              timeout=10).raise_for_status()


def customer(world: World, account: str, name: str, *, connector_id: int | None = None,
             currency: str | None = "GBP") -> tuple[int, int]:
    """An organisation with one billing contact; (organisation id, contact id)."""
    connector_id = connector_id or world.psa_card
    with session(ENV) as s:
        org = Organisation(environment=ENV, connector_id=connector_id, external_id=account, content_hash="x",
                           name=name, currency=currency)
        contact = Contact(environment=ENV, connector_id=connector_id, external_id=f"c-{account}", content_hash="x",
                          organisation_external_id=account, first_name="Ada", last_name="Lovelace",
                          email=f"ada@{account}.example", is_billing_contact=True)
        s.add_all([org, contact])
        s.flush()
        return org.id, contact.id  # type: ignore[return-value]


def invoice(world: World, account: str, external_id: str, *, amount: str = "100.00", issued: date = date(2012, 8, 5),
            due: date = date(2012, 8, 10), currency: str = "GBP", connector_id: int | None = None) -> int:
    """A hub invoice mirroring a sandbox invoice (``external_id``) with ``amount`` still due."""
    with session(ENV) as s:
        row = Invoice(environment=ENV, connector_id=connector_id or world.psa_card, external_id=external_id,
                      content_hash="x", number=f"INV-{external_id}", organisation_external_id=account,
                      status="Open", invoice_date=issued, due_date=due, currency=currency,
                      total=Decimal(amount), amount_due=Decimal(amount), amount_paid=Decimal(0))
        s.add(row)
        s.flush()
        return row.id  # type: ignore[return-value]


def capture_card(org_id: int, contact_id: int, number: str = "4111111111111111",
                 holder: str = "Ada Lovelace") -> PaymentMethod:
    """The whole seed-000 capture: send the form, the contact fills it, the hub completes it."""
    request = payments.send_card_form(ENV, org_id, contact_id, actor="admin@example.com")
    fill_card_form(request.url or "", number, holder, "12/30", "123")
    return payments.complete_card_request(ENV, request.id, actor="admin@example.com")  # type: ignore[arg-type]
