"""The gateway's processing fee, recorded apart from the payment (issue 19): BlueSnap states it in its
Payout Details report, not in the charge's answer; the collection run keeps it on the payment once the
report lists it, and the invoice, what is owed and what was collected do not change for it."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from hub.collections import collect, refunds
from hub.platform.db import session
from hub.platform.models import Charge, InvoiceCollection
from hub.platform.types import utcnow
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice, world  # noqa: F401
from tests.collections.reversal_world import hub_invoice

pytestmark = pytest.mark.usefixtures("hub_db")


def test_the_gateways_processing_fee_is_kept_apart_from_the_payment_once_its_report_states_it(world: World) -> None:
    org, contact = customer(world, "1", "Card customer")
    capture_card(org, contact)
    invoice_id = invoice(world, "1", "2", amount="100.00")
    [paid] = collect.pay(ENV, [invoice_id])
    assert paid.status == "approved"
    report = httpx.get(f"{world.gateway.url}/services/2/report/PayoutDetail",
                       auth=(world.gateway.state.username, world.gateway.state.password)).json()
    [stated] = [r for r in report["data"] if r["Invoice ID"] == paid.transaction_id]  # the gateway's own words
    assert stated["BlueSnap Processing Fees"] == "3.20"  # 2.9 % of 100.00 + 0.30

    first = collect.run(ENV, utcnow().date())
    again = collect.run(ENV, utcnow().date())

    assert first.fees == [{"payment": paid.key, "transaction_id": paid.transaction_id, "fee": "3.20", "currency": "GBP"}]
    assert again.fees == []  # kept once
    with session(ENV) as s:
        charge = s.execute(select(Charge).where(Charge.key == paid.key)).scalar_one()
        collected = s.execute(select(InvoiceCollection.amount_collected)
                              .where(InvoiceCollection.invoice_id == invoice_id)).scalar_one()
        [listed] = refunds.payments_of(s, org)
    assert (charge.amount, charge.fee, charge.fee_currency) == (Decimal("100.00"), Decimal("3.20"), "GBP")
    assert collected == Decimal("100.00") and hub_invoice(invoice_id)[:2] == ("Paid", Decimal(0))  # the payment is whole
    assert (listed["amount"], listed["fee"], listed["left_to_refund"]) == (Decimal("100.00"), Decimal("3.20"),
                                                                         Decimal("100.00"))


def test_a_report_the_gateway_cannot_give_now_is_asked_again_by_the_next_run(world: World) -> None:
    org, contact = customer(world, "1", "Card customer")
    capture_card(org, contact)
    [paid] = collect.pay(ENV, [invoice(world, "1", "2", amount="10.00")])
    httpx.put(f"{world.gateway.url}/_admin/faults", json={"next_statuses": [503] * 8}).raise_for_status()

    assert collect.run(ENV, utcnow().date()).fees == []

    httpx.put(f"{world.gateway.url}/_admin/faults", json={"next_statuses": []}).raise_for_status()
    assert [f["fee"] for f in collect.run(ENV, utcnow().date()).fees] == ["0.59"]  # 0.29 + 0.30
