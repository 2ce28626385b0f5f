"""Direct Debit Payment actions collected on their action date (seed 003 + seed 001): a plan paying
by mandate, its sales orders posted into the ERP sandbox and synced back, then each period's Direct
Debit Payment debits the mandate on its day at the gateway sandbox and the payment is posted in the ERP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors.sandbox import bluesnap
from connectors.sandbox.bluesnap import fill_bank_form
from connectors.sandbox.business_central import SandboxServer
from flows.sync import sync_connector
from hub.billing import direct_debits, generation, plans, posting, setup
from hub.collections import payments
from hub.platform.db import session
from hub.platform.models import Charge, Contact, Invoice, Organisation, Product, SubscriptionAction
from hub.sync import cards
from tests.collections.collect_world import TIMEOUT_SECONDS
from tests.erp_helpers import erp_card

ENV = "sandbox"


@pytest.fixture
def erp() -> Iterator[SandboxServer]:
    with SandboxServer(records=30, seed=8, license_accepted=True) as server:
        yield server


@pytest.fixture
def gateway(hub_db: str) -> Iterator[bluesnap.SandboxServer]:
    with bluesnap.SandboxServer() as server:
        spec = cards.CardSpec(
            name="gateway", kind="bluesnap", environment=ENV,
            settings={"environment_url": server.url, "username": server.state.username, "sandbox": True,
                      "merchant_id": server.state.merchant_id, "timeout_seconds": TIMEOUT_SECONDS},
            secrets={"password": SecretStr(server.state.password), "ipn_secret": SecretStr("x")})
        with session(ENV) as s:
            cards.create(s, spec)
            cards.set_status(s, "gateway", "active")
        yield server


def _mandate_plan() -> int:
    """A USD customer of the ERP with a direct-debit mandate (through the mandate form) and a
    published monthly plan paying by mandate, anchored on Jan 31 2024, two cycles."""
    with session(ENV) as s:
        org = s.execute(select(Organisation).where(Organisation.currency.in_(["USD", "", None]))  # type: ignore[union-attr]
                        .order_by(Organisation.id)).scalars().first()
        assert org is not None
        contact = Contact(environment=ENV, connector_id=org.connector_id, external_id=f"dd-{org.external_id}",
                          content_hash="x", organisation_external_id=org.external_id, first_name="Ada",
                          last_name="Lovelace", email="ada@example.com", is_billing_contact=True)
        s.add(contact)
        s.flush()
        org_id, contact_id, account = org.id, contact.id, org.external_id
    request = payments.send_card_form(ENV, org_id, contact_id, method="bank_account")  # type: ignore[arg-type]
    fill_bank_form(request.url or "", "021000021", "1000000001", "Ada Lovelace")
    payments.complete_card_request(ENV, request.id)  # type: ignore[arg-type]
    with session(ENV) as s:
        item = s.execute(select(Product).where(Product.is_blocked.is_(False)).order_by(Product.id)).scalars().first()
        setup.create_reason_code(s, "NEW", ["New"], default_for=["New"])
        setup.create_program_type(s, "Managed services")
        plan = plans.create_plan(s, plans.PlanRequest(
            name="Endpoint care", connector="erp", customer=account, program_type="Managed services",
            billing_period_type="Monthly", global_start=date(2024, 1, 31), fixed_cycles=2, pays_by_mandate=True))
        plans.add_line(s, plan.id, product=item.number, quantity=Decimal("3"),  # type: ignore[union-attr]
                       sales_price=Decimal("19.99"), currency="USD")
        plans.set_plan_status(s, plan.id, "Published")
        return plan.id  # type: ignore[return-value]


def _actions(kind: str) -> list[SubscriptionAction]:
    with session(ENV) as s:
        return list(s.execute(select(SubscriptionAction).where(SubscriptionAction.action_type == kind)
                              .order_by(SubscriptionAction.action_date)).scalars())


def test_a_direct_debit_payment_action_debits_the_mandate_on_its_action_date_and_posts_it_in_the_erp(
        hub_db: str, prefect_backend: str, erp: SandboxServer, gateway: bluesnap.SandboxServer) -> None:
    erp_card(erp)
    _mandate_plan()
    with session(ENV) as s:
        generation.run_generator(s, date(2024, 2, 29))
    assert posting.firm(ENV).failed == []
    assert posting.post(ENV).failed == []
    early = direct_debits.collect_due(ENV, date(2024, 1, 31))
    assert early.done == [] and len(early.skipped) == 1  # the invoice has not reached the hub yet
    assert "to reach the hub (sync erp)" in (_actions("Direct Debit Payment")[0].error or "")
    sync_connector(connector="erp", environment=ENV)
    jan, feb = _actions("Generate Sales Order")

    report = direct_debits.collect_due(ENV, date(2024, 1, 31))

    [done] = report.done
    first, second = _actions("Direct Debit Payment")
    assert (first.status, second.status) == ("Posted", "Firmed") and done["status"] == "approved"
    [debit] = httpx.get(f"{gateway.url}/_admin/ecp", timeout=10).json()  # read back at the gateway
    with erp.state.lock:  # read back in the ERP: the payment is posted, the invoice paid there
        erp_invoice = dict(erp.state.company.sets["salesInvoices"][jan.invoice_id])
        posted = [p for p in erp.state.company.posted_payments if p["externalDocumentNumber"] == debit["transactionId"]]
    assert debit["merchantTransactionId"] == done["charge"]
    assert Decimal(str(debit["amount"])) == erp_invoice["totalAmountIncludingTax"] > Decimal("59.97")  # tax included
    assert erp_invoice["remainingAmount"] == 0 and erp_invoice["status"] == "Paid" and len(posted) == 1
    with session(ENV) as s:
        charge = s.execute(select(Charge)).scalars().one()
        hub_invoice = s.get(Invoice, charge.invoice_id)
    assert charge.settlement == "pending" and charge.posted_at is not None and hub_invoice.status == "Paid"  # type: ignore[union-attr]
    assert hub_invoice.external_id == jan.invoice_id and feb.invoice_id != jan.invoice_id  # type: ignore[union-attr]
    assert direct_debits.collect_due(ENV, date(2024, 1, 31)).done == []  # once
