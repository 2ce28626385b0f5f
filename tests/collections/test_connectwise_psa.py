"""Collections with a ConnectWise PSA card, unchanged: a notification's ticket is filed on the
ConnectWise company's board and a collected payment is recorded on its ConnectWise invoice —
each read back from the ConnectWise sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import Session

from connectors.sandbox.connectwise import SandboxServer
from hub.collections import collect, notification_settings, notifications
from hub.collections.outbox import enqueue
from hub.collections.rules import Notification, NotificationType
from hub.platform.db import session
from hub.platform.models import Charge, Connector, Invoice, NotificationDelivery
from hub.sync import cards
from tests.collections.notify_builders import organisation


@pytest.fixture
def cw() -> Iterator[SandboxServer]:
    with SandboxServer(records=50, seed=3) as server:
        yield server


def connectwise_card(s: Session, server: SandboxServer) -> Connector:
    creds = server.credentials
    card = cards.create(s, cards.CardSpec(
        name="psa", kind="connectwise", environment=s.info["environment"],
        settings={"site": server.url, "company_id": creds["company_id"], "public_key": creds["public_key"],
                  "client_id": creds["client_id"], "sandbox": True},
        secrets={"private_key": SecretStr(creds["private_key"])}))
    card.status = "active"
    s.add(card)
    s.flush()
    return card


def test_an_overdue_notice_becomes_one_ticket_on_the_connectwise_companys_board(hub_db, cw: SandboxServer) -> None:
    company = httpx.get(f"{cw.url}/_admin/records/companies").json()[1]
    with session("sandbox") as s:
        notification_settings.update_settings(s, "overdue_2", email=False, destination="Accounts Receivable",
                                              priority="Priority 2 - Quick Response", issue_type="Payment")
        org = organisation(s, connectwise_card(s, cw), str(company["id"]), company["name"], raw=company)
        enqueue(s, Notification(type=NotificationType.overdue(2), key="inv-3", customer_name=company["name"],
                                invoice_number="CW000003", amount=Decimal("1200.00"), currency="USD",
                                due_date=date(2026, 9, 1), days_overdue=46), organisation_id=org.id)

    report = notifications.deliver("sandbox")
    notifications.deliver("sandbox")

    (ticket,) = [t for t in httpx.get(f"{cw.url}/_admin/records/tickets").json() if t["externalXRef"] == "inv-3/ticket"]
    assert [d["channels"] for d in report.delivered] == [{"email": "skipped", "ticket": "sent"}]
    assert (ticket["company"]["id"], ticket["site"]["id"]) == (company["id"], company["site"]["id"])
    assert (ticket["board"]["name"], ticket["priority"]["name"], ticket["type"]["name"]) == (
        "Accounts Receivable", "Priority 2 - Quick Response", "Payment")
    assert ticket["summary"].startswith(company["name"][:40])
    with session("sandbox") as s:
        row = s.execute(select(NotificationDelivery).where(NotificationDelivery.channel == "ticket")).scalar_one()
        assert row.external_ref == str(ticket["id"]) and row.attempts == 1


def test_a_collected_payment_is_recorded_once_on_the_connectwise_invoice(hub_db, cw: SandboxServer) -> None:
    source = next(i for i in httpx.get(f"{cw.url}/_admin/records/invoices").json() if i["balance"] > 10)
    with session("sandbox") as s:
        card = connectwise_card(s, cw)
        org = organisation(s, card, str(source["company"]["id"]), source["company"]["name"])
        invoice = Invoice(environment="sandbox", connector_id=card.id, external_id=str(source["id"]), content_hash="x",
                          number=source["invoiceNumber"], organisation_external_id=org.external_id,
                          invoice_date=date(2026, 1, 1), due_date=date(2026, 1, 31), currency="USD",
                          total=Decimal(str(source["total"])), amount_due=Decimal(str(source["balance"])))
        s.add(invoice)
        s.flush()
        s.add(Charge(environment="sandbox", key="chg-cw-1", invoice_id=invoice.id, organisation_id=org.id,
                     amount=Decimal("10.25"), currency="USD", status="succeeded", charged_on=date(2026, 2, 2)))

    first = collect.record_payments("sandbox")
    again = collect.record_payments("sandbox")

    assert [r["error"] for r in first] == [None] and again == []
    after = next(i for i in httpx.get(f"{cw.url}/_admin/records/invoices").json() if i["id"] == source["id"])
    assert Decimal(str(source["balance"])) - Decimal(str(after["balance"])) == Decimal("10.25")
    creds = cw.credentials
    (payment,) = httpx.get(f"{cw.api_url}/finance/invoices/{source['id']}/payments", headers={"clientId": creds["client_id"]},
                           auth=(f"{creds['company_id']}+{creds['public_key']}", creds["private_key"])).json()
    assert (payment["transactionId"], payment["amount"]) == ("chg-cw-1", 10.25)
    assert first[0]["recorded_ref"] == str(payment["id"])  # ConnectWise's own id, not the hub's key
