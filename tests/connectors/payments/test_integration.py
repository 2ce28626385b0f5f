"""The BlueSnap connector against the sandbox gateway over real HTTP (loopback servers)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr

from connectors.http import RetryPolicy
from connectors.payments import (
    BlueSnapConnector,
    BlueSnapSecrets,
    BlueSnapSettings,
    CardOnFile,
    ChargeApproved,
    ChargeDeclined,
    DeclineKind,
    IpnEventType,
)
from connectors.sandbox.bluesnap import SandboxServer
from connectors.sandbox.net import LoopbackServer

IPN_SECRET = "it-ipn-secret"


class IpnReceiver(LoopbackServer):
    """What the hub's webhook endpoint sees; answers 500 to the first ``fail_first`` deliveries."""

    thread_name = "ipn-receiver"

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 0)
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.fail_first = 0
        self.app = FastAPI()

        @self.app.post("/ipn")
        async def ipn(request: Request) -> Response:
            self.received.append((await request.body(), dict(request.headers)))
            return Response(status_code=500 if len(self.received) <= self.fail_first else 200)


@pytest.fixture(scope="module")
def receiver() -> Iterator[IpnReceiver]:
    with IpnReceiver() as srv:
        yield srv


@pytest.fixture(scope="module")
def sandbox(receiver: IpnReceiver) -> Iterator[SandboxServer]:
    with SandboxServer(ipn_url=f"{receiver.url}/ipn", ipn_secret=IPN_SECRET) as srv:
        httpx.put(f"{srv.url}/_admin/ipn", json={"retry_seconds": 0.05}).raise_for_status()
        yield srv


def make_gateway(sandbox: SandboxServer, *, password: str | None = None, **settings: Any) -> BlueSnapConnector:
    fields = {"environment_url": sandbox.url, "sandbox": True, "username": sandbox.state.username,
              "merchant_id": sandbox.state.merchant_id, "timeout_seconds": 30.0, **settings}
    secrets = BlueSnapSecrets(password=SecretStr(password or sandbox.state.password), ipn_secret=SecretStr(IPN_SECRET))
    return BlueSnapConnector(BlueSnapSettings(**fields), secrets,
                             retry=RetryPolicy(max_attempts=4, base_delay=0.05, jitter=0))


@pytest.fixture
def gateway(sandbox: SandboxServer) -> Iterator[BlueSnapConnector]:
    conn = make_gateway(sandbox)
    yield conn
    conn.close()
    httpx.put(f"{sandbox.url}/_admin/faults", json={"rate_429": 0, "rate_503": 0, "next_statuses": [],
                                                    "slow_response_seconds": 10})


@pytest.fixture
def impatient_gateway(sandbox: SandboxServer) -> Iterator[BlueSnapConnector]:
    """A gateway waiting 1 s for answers that the sandbox's slow cards give after 3 s: each is lost."""
    conn = make_gateway(sandbox, timeout_seconds=1.0)
    httpx.put(f"{sandbox.url}/_admin/faults", json={"slow_response_seconds": 3}).raise_for_status()
    yield conn
    conn.close()
    httpx.put(f"{sandbox.url}/_admin/faults", json={"slow_response_seconds": 10})


def enter_card(page_url: str, number: str, holder: str = "Ada Lovelace", expiry: str = "07/39",
               cvv: str = "123") -> httpx.Response:
    """What the contact's browser does: open the page, then submit its form."""
    with httpx.Client() as browser:
        assert browser.get(page_url).status_code == 200
        return browser.post(page_url, data={"cardNumber": number, "holderName": holder, "expiry": expiry,
                                            "cvv": cvv})


def capture(gateway: BlueSnapConnector, number: str, **form: str) -> CardOnFile:
    entry = gateway.start_card_entry()
    answer = enter_card(entry.page_url, number, **form)
    assert answer.status_code == 200, answer.text
    return gateway.create_vaulted_shopper(pf_token=entry.pf_token, first_name="Ada", last_name="Lovelace",
                                          email="ada@example.com")


_keys = iter(range(1, 10_000))


def new_key() -> str:
    return f"it-{time.monotonic_ns()}-{next(_keys)}"


def charges_with(sandbox: SandboxServer, key: str) -> list[dict[str, Any]]:
    rows = httpx.get(f"{sandbox.url}/_admin/transactions").json()
    return [r for r in rows if r["merchantTransactionId"] == key]


def settle(sandbox: SandboxServer, receiver: IpnReceiver) -> None:
    """Let earlier tests' IPNs arrive, then start counting afresh."""
    wait_for(lambda: httpx.get(f"{sandbox.url}/_admin/counts").json()["ipn_pending"] == 0)
    receiver.received.clear()


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


# --- the connector card -------------------------------------------------------------


def test_test_connection_passes_with_the_sandboxes_credentials(gateway: BlueSnapConnector) -> None:
    report = gateway.test_connection()
    assert report.ok, report.checks


def test_test_connection_says_which_credential_is_wrong(sandbox: SandboxServer) -> None:
    with make_gateway(sandbox, password="wrong") as bad_password, make_gateway(sandbox, merchant_id="999") as bad_mid:
        refused = bad_password.test_connection()
        wrong_merchant = bad_mid.test_connection()

    assert [(c.name, c.ok, c.detail) for c in refused.checks] == [
        ("sign in", False, "BlueSnap refused the API username or password")]
    assert not wrong_merchant.ok
    assert [c.name for c in wrong_merchant.checks if not c.ok] == ["merchant ID"]
    assert "'999'" in wrong_merchant.checks[-1].detail


# --- card entry (seed 000) ----------------------------------------------------------


def test_a_card_entered_on_the_hosted_page_is_vaulted_with_type_name_last4_and_expiry(
        gateway: BlueSnapConnector) -> None:
    card = capture(gateway, "5555 5555 5555 4444", holder="Ada King Lovelace", expiry="07/2039")

    shown = gateway.get_vaulted_shopper(card.vaulted_shopper_id)

    assert shown == card
    assert (shown.card_type, shown.holder_name, shown.last4, shown.expiry, shown.email) == (
        "MASTERCARD", "Ada King Lovelace", "4444", "07/2039", "ada@example.com")


def test_until_the_contact_submits_the_page_the_card_entry_is_incomplete(gateway: BlueSnapConnector) -> None:
    from connectors.payments import CardEntryIncomplete

    entry = gateway.start_card_entry()
    with pytest.raises(CardEntryIncomplete, match="has not entered a card"):
        gateway.create_vaulted_shopper(pf_token=entry.pf_token, first_name="Ada", last_name="Lovelace")


# --- test cards ---------------------------------------------------------------------


@pytest.mark.parametrize("number, outcome", [
    ("4111111111111111", "approved"),
    ("378282246310005", "approved"),
    ("4000000000009995", ("INSUFFICIENT_FUNDS", DeclineKind.SOFT)),
    ("4000000000000002", ("DO_NOT_HONOR", DeclineKind.SOFT)),
    ("4000000000000069", ("EXPIRED_CARD", DeclineKind.HARD)),
    ("4000000000009987", ("CARD_LOST_OR_STOLEN", DeclineKind.HARD)),
])
def test_the_test_cards_behave_as_documented(gateway: BlueSnapConnector, sandbox: SandboxServer,
                                             number: str, outcome: Any) -> None:
    card = capture(gateway, number, cvv="1234" if number.startswith("37") else "123")
    key = new_key()

    result = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("100.10"),
                            currency="USD", merchant_transaction_id=key)

    if outcome == "approved":
        assert isinstance(result, ChargeApproved) and result.transaction.amount == Decimal("100.10")
        assert len(charges_with(sandbox, key)) == 1
    else:
        assert isinstance(result, ChargeDeclined) and (result.error_name, result.kind) == outcome
        assert charges_with(sandbox, key) == []


def test_the_decline_first_card_soft_declines_once_and_then_approves_the_retry(gateway: BlueSnapConnector) -> None:
    card = capture(gateway, "4000000000000341")

    first = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("20.00"), currency="EUR",
                           merchant_transaction_id=new_key())
    retry = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("20.00"), currency="EUR",
                           merchant_transaction_id=new_key())

    assert isinstance(first, ChargeDeclined) and first.retry_allowed
    assert isinstance(retry, ChargeApproved)


@pytest.mark.parametrize("number", ["4000000000000119", "4000000000000127"])
def test_a_charge_whose_answer_is_lost_after_charging_charges_exactly_once(
        impatient_gateway: BlueSnapConnector, sandbox: SandboxServer, number: str) -> None:
    gateway = impatient_gateway
    card = capture(gateway, number)
    key = new_key()

    result = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("250.00"), currency="USD",
                            merchant_transaction_id=key)
    again = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("250.00"), currency="USD",
                           merchant_transaction_id=key)

    assert isinstance(result, ChargeApproved) and result.recovered
    assert isinstance(again, ChargeApproved) and again.transaction_id == result.transaction_id
    assert [c["transactionId"] for c in charges_with(sandbox, key)] == [result.transaction_id]


def test_rate_limits_and_unavailability_are_ridden_out_with_one_charge(gateway: BlueSnapConnector,
                                                                      sandbox: SandboxServer) -> None:
    card = capture(gateway, "4111111111111111")
    key = new_key()
    httpx.put(f"{sandbox.url}/_admin/faults",
              json={"next_statuses": [429, 503, 429], "retry_after": 0}).raise_for_status()

    result = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("9.99"), currency="GBP",
                            merchant_transaction_id=key)

    assert isinstance(result, ChargeApproved)
    assert len(charges_with(sandbox, key)) == 1
    assert httpx.get(f"{sandbox.url}/_admin/faults").json()["next_statuses"] == []


# --- refunds and IPNs ---------------------------------------------------------------


def test_charge_and_refund_ipns_arrive_signed_and_verify_and_a_redelivery_is_a_replay(
        gateway: BlueSnapConnector, sandbox: SandboxServer, receiver: IpnReceiver) -> None:
    card = capture(gateway, "4111111111111111")
    key = new_key()
    settle(sandbox, receiver)
    receiver.fail_first = 1  # the hub was down for the first delivery: BlueSnap retries it

    charged = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("120.00"),
                             currency="USD", merchant_transaction_id=key)
    assert isinstance(charged, ChargeApproved)
    refund = gateway.refund(charged.transaction_id, amount=Decimal("20.00"), currency="USD", reason="credit note")

    wait_for(lambda: len(receiver.received) >= 3)
    processed: set[str] = set()
    events = []
    for body, headers in receiver.received:
        delivery = gateway.verify_ipn(body, headers, seen=processed.__contains__)
        if not delivery.replay:
            processed.add(delivery.event.delivery_id)
            events.append(delivery.event)
        else:
            assert delivery.event.delivery_id in processed

    assert [(e.transaction_type, e.merchant_transaction_id, e.amount, e.currency) for e in events] == [
        (IpnEventType.CHARGE, key, Decimal("120.00"), "USD"),
        (IpnEventType.REFUND, key, Decimal("20.00"), "USD")]
    assert events[0].transaction_id == charged.transaction_id
    assert events[1].refund_transaction_id == refund.refund_transaction_id
    rows = [d for d in httpx.get(f"{sandbox.url}/_admin/ipn/deliveries").json()
            if d["referenceNumber"] == charged.transaction_id]
    assert [(d["transactionType"], d["status"], d["responses"]) for d in rows] == [
        ("CHARGE", "delivered", [500, 200]), ("REFUND", "delivered", [200])]


def test_a_decline_sends_a_decline_ipn(gateway: BlueSnapConnector, sandbox: SandboxServer,
                                      receiver: IpnReceiver) -> None:
    card = capture(gateway, "4000000000009987")
    key = new_key()
    settle(sandbox, receiver)
    receiver.fail_first = 0

    declined = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("5.00"), currency="USD",
                              merchant_transaction_id=key)

    assert isinstance(declined, ChargeDeclined) and declined.needs_new_card
    body, headers = wait_for(lambda: receiver.received and receiver.received[0])
    event = gateway.verify_ipn(body, headers, seen=lambda _: False).event
    assert (event.transaction_type, event.merchant_transaction_id, event.fields["failureReason"]) == (
        IpnEventType.DECLINE, key, "CARD_LOST_OR_STOLEN")


def test_a_full_refund_cannot_be_repeated(gateway: BlueSnapConnector, sandbox: SandboxServer) -> None:
    from connectors.http import ClientRequestError

    card = capture(gateway, "6011111111111117")
    charged = gateway.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("1000"), currency="JPY",
                             merchant_transaction_id=new_key())
    assert isinstance(charged, ChargeApproved) and str(charged.transaction.amount) == "1000"

    full = gateway.refund(charged.transaction_id)
    with pytest.raises(ClientRequestError, match="INVOICE_ALREADY_FULLY_REFUNDED"):
        gateway.refund(charged.transaction_id, amount=Decimal("1"), currency="JPY")
    assert full.amount == Decimal("1000")
