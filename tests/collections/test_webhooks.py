"""The gateway's webhooks (IPN) in, over real HTTP: the BlueSnap sandbox sends them, signed, to the
hub's web app; a bad signature is refused and changes nothing, a replay changes nothing, events out
of order end where events in order do, and an event that never came is made up for by the poll."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from connectors.payments.ipn import encode_ipn, sign_ipn
from hub.collections import collect, dunning_holds, notifications
from hub.collections.payments import open_gateway
from hub.platform.db import session
from hub.platform.models import Charge, Chargeback, GatewayEvent, Refund
from tests.collections.collect_world import ENV, World, capture_card, invoice, world  # noqa: F401  (fixture)
from tests.collections.reversal_world import (  # noqa: F401  (fixtures)
    HubServer,
    PsaCustomer,
    all_delivered,
    deliveries,
    hub_invoice,
    hub_ipn,
    lost_charge,
    mail,
    mails,
    psa_customer,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("hub_db")


def _count(model: type) -> int:
    with session(ENV) as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _charge(key: str) -> Charge:
    with session(ENV) as s:
        return s.execute(select(Charge).where(Charge.key == key)).scalar_one()


def _refund_at_gateway(transaction_id: str, amount: str) -> str:
    """A refund made in the gateway's console (not through the hub)."""
    gateway = open_gateway(ENV)
    try:
        return gateway.refund(transaction_id, amount=Decimal(amount), currency="GBP",
                              reason="refunded in the console").refund_transaction_id
    finally:
        gateway.close()


def test_a_bad_or_missing_signature_is_refused_401_and_changes_nothing(
        hub_ipn: HubServer, psa_customer: PsaCustomer) -> None:
    body = encode_ipn({"transactionType": "CHARGEBACK", "referenceNumber": "1012000001",
                       "merchantTransactionId": "cr-lost-1", "invoiceChargeAmount": "5.00",
                       "invoiceChargeCurrency": "GBP", "reversalRefNum": "77"})
    url = f"{hub_ipn.url}/api/gateway/ipn/{ENV}/gateway"

    forged = httpx.post(url, content=body, headers=sign_ipn(body, SecretStr("not-the-secret")))
    unsigned = httpx.post(url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    unknown_card = httpx.post(f"{hub_ipn.url}/api/gateway/ipn/{ENV}/nope", content=body,
                              headers=sign_ipn(body, SecretStr("sandbox-ipn-secret")))

    assert (forged.status_code, unsigned.status_code, unknown_card.status_code) == (401, 401, 404)
    assert "signature does not match" in forged.json()["detail"] and "not signed" in unsigned.json()["detail"]
    assert (_count(GatewayEvent), _count(Chargeback), _count(Refund)) == (0, 0, 0)


def test_a_charge_whose_answer_was_lost_is_settled_by_its_webhook_and_recorded_in_the_psa(
        hub_ipn: HubServer, psa_customer: PsaCustomer) -> None:
    lost_charge(psa_customer)

    wait_for(lambda: _charge("cr-lost-1").status == "succeeded")

    assert hub_invoice(psa_customer.invoice_id)[:2] == ("Paid", Decimal(0))
    wait_for(lambda: _charge("cr-lost-1").recorded_at is not None)
    payments = psa_customer.world.bms_payments("2")
    assert [p for p in payments if "cr-lost-1" in str(p)], payments


def test_a_decline_webhook_settles_a_lost_charge_as_declined_and_schedules_its_retry(
        hub_ipn: HubServer, psa_customer: PsaCustomer) -> None:
    declining = capture_card(psa_customer.organisation_id, psa_customer.contact_id, "4000000000009995")
    psa_customer.method_id = declining.id or 0

    assert lost_charge(psa_customer) == ""

    wait_for(lambda: _charge("cr-lost-1").status == "declined")
    charge = _charge("cr-lost-1")
    assert (charge.decline_code, charge.hard_decline, charge.retry_on is not None) == ("INSUFFICIENT_FUNDS", False, True)
    assert hub_invoice(psa_customer.invoice_id)[:2] == ("Open", Decimal("5.00"))


def test_a_replayed_refund_webhook_is_answered_and_changes_nothing(
        hub_ipn: HubServer, psa_customer: PsaCustomer) -> None:
    tid = lost_charge(psa_customer)
    wait_for(lambda: all_delivered(psa_customer.world))
    httpx.put(f"{psa_customer.world.gateway.url}/_admin/ipn", json={"duplicate_next": 1}).raise_for_status()

    refund_id = _refund_at_gateway(tid, "2.00")
    wait_for(lambda: len(deliveries(psa_customer.world)) == 3 and all_delivered(psa_customer.world))

    assert [d["status"] for d in deliveries(psa_customer.world)] == ["delivered"] * 3  # each answered 200
    with session(ENV) as s:
        rows = [(r.gateway_refund_id, r.amount, r.origin) for r in s.execute(select(Refund)).scalars()]
    assert rows == [(refund_id, Decimal("2.00"), "gateway")]
    assert hub_invoice(psa_customer.invoice_id)[:2] == ("Open", Decimal("2.00"))
    assert _count(GatewayEvent) == 2  # the charge and the refund, each once


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "refund-before-charge"])
def test_events_out_of_order_end_where_events_in_order_do(hub_ipn: HubServer, psa_customer: PsaCustomer,
                                                          reverse: bool) -> None:
    httpx.put(f"{psa_customer.world.gateway.url}/_admin/ipn", json={"hold": True}).raise_for_status()
    tid = lost_charge(psa_customer)
    refund_id = _refund_at_gateway(tid, "1.50")
    released = httpx.post(f"{psa_customer.world.gateway.url}/_admin/ipn/release", json={"reverse": reverse})
    assert released.json() == {"released": 2}

    wait_for(lambda: all_delivered(psa_customer.world) and _count(GatewayEvent) == 2)

    assert [d["transactionType"] for d in deliveries(psa_customer.world)] == ["CHARGE", "REFUND"]
    charge = _charge("cr-lost-1")
    assert (charge.status, charge.transaction_id) == ("succeeded", tid)
    with session(ENV) as s:
        assert [(r.gateway_refund_id, r.amount) for r in s.execute(select(Refund)).scalars()] == [
            (refund_id, Decimal("1.50"))]
    assert hub_invoice(psa_customer.invoice_id)[:2] == ("Open", Decimal("1.50"))


def test_a_charge_webhook_that_never_came_is_made_up_for_by_the_collection_runs_lookup(
        hub_ipn: HubServer, psa_customer: PsaCustomer) -> None:
    httpx.put(f"{psa_customer.world.gateway.url}/_admin/ipn", json={"drop_next": 1}).raise_for_status()
    tid = lost_charge(psa_customer)
    assert [d["status"] for d in deliveries(psa_customer.world)] == ["dropped"]
    assert _charge("cr-lost-1").status == "unknown"

    report = collect.run(ENV, date(2012, 8, 10))

    assert [(r.key, r.status, r.transaction_id) for r in report.settled] == [("cr-lost-1", "approved", tid)]
    assert hub_invoice(psa_customer.invoice_id)[:2] == ("Paid", Decimal(0))
    assert _count(GatewayEvent) == 0


def test_a_chargeback_reopens_the_invoice_keeps_the_fee_apart_and_tells_the_customer_and_the_psa(
        hub_ipn: HubServer, psa_customer: PsaCustomer) -> None:
    tid = lost_charge(psa_customer)
    wait_for(lambda: _charge("cr-lost-1").status == "succeeded")
    planted = httpx.post(f"{psa_customer.world.gateway.url}/_admin/chargebacks",
                         json={"transactionId": tid, "fee": "15.00", "reason": "Fraudulent transaction"})
    assert planted.status_code == 201

    wait_for(lambda: _count(Chargeback) == 1)

    with session(ENV) as s:
        [chargeback] = s.execute(select(Chargeback)).scalars()
        assert (chargeback.amount, chargeback.fee, chargeback.reason) == (
            Decimal("5.00"), Decimal("15.00"), "Fraudulent transaction")
    status, due, stopped = hub_invoice(psa_customer.invoice_id)
    assert (status, due) == ("Open", Decimal("5.00")) and stopped and "disputed" in stopped  # the fee is not owed
    with session(ENV) as s:
        holds = dunning_holds.list_holds(s, psa_customer.organisation_id, current=True)
    assert [(h["invoice"], h["reason"]) for h in holds] == [("INV-2", "disputed")]  # no overdue notices meanwhile
    notifications.deliver(ENV)
    [told] = mails(psa_customer.mail, "Your payment for invoice INV-2 was disputed")
    assert "Fraudulent transaction" in told["body"] and told["to"] == ["ada@1.example"]
    tickets = httpx.get(f"{psa_customer.world.psa.url}/_admin/records/tickets").json()
    assert [t for t in tickets if "disputed" in str(t.get("Title"))], [t.get("Title") for t in tickets]


def test_a_charge_webhook_for_a_lost_ach_debit_leaves_it_waiting_for_the_bank(hub_ipn: HubServer, world: World) -> None:
    from tests.collections.test_ach import SETTLES, mandate

    org, method = mandate(world, "1", SETTLES)
    invoice_id = invoice(world, "1", "2", currency="USD", amount="120.00")
    with session(ENV) as s:
        s.add(Charge(environment=ENV, key="cr-ach-lost", invoice_id=invoice_id, organisation_id=org,
                     payment_method_id=method.id, amount=Decimal("120.00"), currency="USD", status="unknown"))
    gateway = open_gateway(ENV)
    try:
        debit = gateway.debit(vaulted_shopper_id=method.vaulted_shopper_id or "", amount=Decimal("120.00"),
                              currency="USD", merchant_transaction_id="cr-ach-lost")
    finally:
        gateway.close()
    body = encode_ipn({"transactionType": "CHARGE", "referenceNumber": debit.transaction_id,  # type: ignore[union-attr]
                       "merchantTransactionId": "cr-ach-lost", "invoiceChargeAmount": "120.00",
                       "invoiceChargeCurrency": "USD", "paymentMethod": "ECP"})
    secret = SecretStr(world.gateway.credentials["ipn_secret"])

    answer = httpx.post(f"{hub_ipn.url}/api/gateway/ipn/{ENV}/gateway", content=body, headers=sign_ipn(body, secret))

    assert (answer.status_code, answer.content) == (200, b"")
    charge = _charge("cr-ach-lost")
    assert (charge.status, charge.settlement) == ("succeeded", "pending")  # the bank may still return it
