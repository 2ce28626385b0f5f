"""ACH returns on an ERP invoice (Business Central sandbox): the debit is posted in the ERP like a
card payment; the bank's return reverses it in the hub (owed again) and in the ERP (one reversing
entry keyed by the transaction id); the R01 retry is collected and posted to the customer's account
— each read back from the gateway and the ERP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.sandbox.bluesnap import fill_bank_form
from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect, payments
from hub.platform.db import session
from hub.platform.models import Charge, Invoice
from tests.collections.collect_world import ENV, World, customer, invoice, world  # noqa: F401
from tests.collections.erp_world import ErpWorld, erp_card

pytestmark = pytest.mark.usefixtures("hub_db")
AUG = {d: date(2012, 8, d) for d in range(1, 32)}


@pytest.fixture
def erp_world(world: World) -> Iterator[ErpWorld]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=True), True)


def mandate_on_erp_invoice(ew: ErpWorld, account_number: str, n: int = 0) -> tuple[int, dict[str, Any]]:
    """An open USD ERP invoice of the ``n``-th such customer mirrored in the hub, its customer paying by a
    mandate authorised on the gateway's page."""
    state = ew.erp.state
    with state.lock:
        customers = state.company.sets["customers"]
        first: dict[str, dict[str, Any]] = {}  # one invoice per customer
        for i in state.company.sets["salesInvoices"].values():
            if i["status"] == "Open" and i["remainingAmount"] > 0 and i["currencyCode"] in ("", "USD") \
                    and not customers[i["customerId"]]["blocked"].strip():
                first.setdefault(i["customerId"], dict(i))
        found = list(first.values())[n]
    org, contact = customer(ew.world, found["customerId"], f"ACH customer {n}", connector_id=ew.card, currency="USD")
    request = payments.send_card_form(ENV, org, contact, method="bank_account")
    fill_bank_form(request.url or "", "021000021", account_number, "Ada Lovelace")
    payments.complete_card_request(ENV, request.id)  # type: ignore[arg-type]
    hub_id = invoice(ew.world, found["customerId"], found["id"], amount=str(found["remainingAmount"]),
                     currency="USD", connector_id=ew.card)
    return hub_id, found


def charges(invoice_id: int) -> list[Charge]:
    with session(ENV) as s:
        return list(s.execute(select(Charge).where(Charge.invoice_id == invoice_id).order_by(Charge.attempt)).scalars())


def test_an_ach_return_is_reversed_in_the_hub_and_the_erp_once_and_the_retry_is_posted(erp_world: ErpWorld) -> None:
    hub_id, erp_inv = mandate_on_erp_invoice(erp_world, "1000000010")  # the first debit is returned R01
    amount = Decimal(str(erp_inv["remainingAmount"]))
    customer_id = erp_inv["customerId"]

    [row] = collect.pay(ENV, [hub_id], today=AUG[10])

    assert row.status == "approved"
    assert erp_world.erp_invoice(erp_inv["id"])["remainingAmount"] == 0  # posted in the ERP like a card payment
    with erp_world.erp.state.lock:
        balance = erp_world.erp.state.company.sets["customers"][customer_id]["balanceDue"]

    report = collect.run(ENV, AUG[11])

    [returned] = report.returns
    [first] = charges(hub_id)
    assert returned["return_code"] == "R01" and first.status == "returned"
    with session(ENV) as s:
        hub_invoice = s.execute(select(Invoice).where(Invoice.id == hub_id)).scalar_one()
    assert (hub_invoice.status, hub_invoice.amount_due) == ("Open", amount)
    assert report.reversed == [{"key": first.key, "connector": "erp", "reversal_ref": f"RET-{first.key}",
                                "error": None}]
    with erp_world.erp.state.lock:
        company = erp_world.erp.state.company
        reversals = [dict(j) for j in company.posted_journal_lines
                     if j["externalDocumentNumber"] == first.transaction_id]
        assert company.sets["customers"][customer_id]["balanceDue"] == balance + amount  # owed again in the ERP
    assert [(r["documentNumber"], r["amount"], r["accountId"]) for r in reversals] == [
        (f"RET-{first.key}", amount, customer_id)]
    assert collect.run(ENV, AUG[12]).reversed == []  # once

    retry_day = first.retry_on
    assert retry_day is not None
    [retried] = collect.run(ENV, retry_day).charged
    assert retried.status == "approved"
    _, second = charges(hub_id)
    assert second.posted_at is not None and second.record_error is None
    debits = {d["merchantTransactionId"]: d for d in httpx.get(f"{erp_world.world.gateway.url}/_admin/ecp").json()}
    assert debits[first.key]["processingInfo"]["returnCode"] == "R01" and second.key in debits
    with erp_world.erp.state.lock:
        company = erp_world.erp.state.company
        assert company.sets["customers"][customer_id]["balanceDue"] == balance  # the retry settled the debit
        [retry_payment] = [p for p in company.posted_payments if p["externalDocumentNumber"] == second.transaction_id]
    assert -retry_payment["amount"] == amount
    with session(ENV) as s:
        assert s.execute(select(Invoice).where(Invoice.id == hub_id)).scalar_one().status == "Paid"
