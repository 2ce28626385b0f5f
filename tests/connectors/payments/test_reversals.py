"""Refunds and chargebacks at the BlueSnap sandbox, and its IPN delivery controls, through the connector."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from connectors.http import ClientRequestError
from connectors.payments import BlueSnapConnector, ChargeApproved, IpnEventType
from connectors.sandbox.bluesnap import SandboxServer
from tests.connectors.payments.test_integration import (  # noqa: F401  (fixtures)
    IpnReceiver,
    capture,
    gateway,
    new_key,
    receiver,
    sandbox,
    settle,
    wait_for,
)


@pytest.fixture
def charged(gateway: BlueSnapConnector) -> Iterator[ChargeApproved]:
    card = capture(gateway, "4111111111111111")
    result = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("30.00"), currency="USD",
                            merchant_transaction_id=new_key())
    assert isinstance(result, ChargeApproved)
    yield result


def _events(gateway: BlueSnapConnector, receiver: IpnReceiver) -> list[tuple[str, str]]:
    return [(e.transaction_type.value, e.delivery_id) for e in
            (gateway.verify_ipn(body, headers, seen=lambda _: False).event for body, headers in receiver.received)]


def test_partial_then_full_refunds_are_listed_on_the_transaction(gateway: BlueSnapConnector,
                                                                 charged: ChargeApproved) -> None:
    part = gateway.refund(charged.transaction_id, amount=Decimal("10.00"), currency="USD", reason="goodwill")
    rest = gateway.refund(charged.transaction_id, known_refunds=[part.refund_transaction_id])

    listed = gateway.get_transaction(charged.transaction_id).refunds
    assert (part.amount, rest.amount) == (Decimal("10.00"), Decimal("20.00"))
    assert [(r.refund_transaction_id, r.amount) for r in listed] == [
        (part.refund_transaction_id, Decimal("10.00")), (rest.refund_transaction_id, Decimal("20.00"))]


def test_a_refund_over_what_is_left_is_refused_with_bluesnaps_error_name(gateway: BlueSnapConnector,
                                                                         charged: ChargeApproved) -> None:
    with pytest.raises(ClientRequestError, match="REFUND_MAX_AMOUNT_FAILURE") as refused:
        gateway.refund(charged.transaction_id, amount=Decimal("30.01"), currency="USD")

    assert refused.value.status_code == 400
    assert gateway.get_transaction(charged.transaction_id).refunds == ()


def test_a_refund_whose_answer_is_lost_is_found_on_the_charge_not_sent_twice(
        gateway: BlueSnapConnector, sandbox: SandboxServer, charged: ChargeApproved) -> None:
    httpx.put(f"{sandbox.url}/_admin/faults", json={"next_refund_faults": ["drop"]}).raise_for_status()

    result = gateway.refund(charged.transaction_id, amount=Decimal("12.00"), currency="USD", known_refunds=[])

    assert result.recovered and result.amount == Decimal("12.00")
    assert [r.amount for r in gateway.get_transaction(charged.transaction_id).refunds] == [Decimal("12.00")]


def test_a_planted_chargeback_sends_a_signed_chargeback_ipn_with_its_fee(
        gateway: BlueSnapConnector, sandbox: SandboxServer, receiver: IpnReceiver,
        charged: ChargeApproved) -> None:
    settle(sandbox, receiver)
    planted = httpx.post(f"{sandbox.url}/_admin/chargebacks", json={
        "transactionId": charged.transaction_id, "amount": "30.00", "fee": "15.00", "reason": "Fraud"})

    assert planted.status_code == 201
    body, headers = wait_for(lambda: receiver.received and receiver.received[0])
    event = gateway.verify_ipn(body, headers, seen=lambda _: False).event
    assert (event.transaction_type, event.transaction_id, event.amount, event.fields["chargebackFee"]) == (
        IpnEventType.CHARGEBACK, charged.transaction_id, Decimal("30.00"), "15.00")
    with pytest.raises(ClientRequestError, match="INVOICE_ALREADY_FULLY_REFUNDED"):
        gateway.refund(charged.transaction_id)  # nothing is left to give back


def test_ipns_can_be_duplicated_dropped_and_released_out_of_order(
        gateway: BlueSnapConnector, sandbox: SandboxServer, receiver: IpnReceiver,
        charged: ChargeApproved) -> None:
    settle(sandbox, receiver)
    admin = f"{sandbox.url}/_admin/ipn"
    httpx.put(admin, json={"duplicate_next": 1}).raise_for_status()
    first = gateway.refund(charged.transaction_id, amount=Decimal("1.00"), currency="USD")
    wait_for(lambda: len(receiver.received) >= 2)
    httpx.put(admin, json={"drop_next": 1}).raise_for_status()
    gateway.refund(charged.transaction_id, amount=Decimal("2.00"), currency="USD")
    httpx.put(admin, json={"hold": True}).raise_for_status()
    third = gateway.refund(charged.transaction_id, amount=Decimal("3.00"), currency="USD")
    fourth = gateway.refund(charged.transaction_id, amount=Decimal("4.00"), currency="USD")
    assert httpx.post(f"{admin}/release", json={"reverse": True}).json() == {"released": 2}
    wait_for(lambda: len(receiver.received) >= 4)

    ref = charged.transaction_id
    assert _events(gateway, receiver) == [("REFUND", f"REFUND:{ref}:{r.refund_transaction_id}")
                                          for r in (first, first, fourth, third)]
    dropped = [d for d in httpx.get(f"{admin}/deliveries").json() if d["status"] == "dropped"]
    assert [d["fields"]["invoiceChargeAmount"] for d in dropped] == ["2.00"]
