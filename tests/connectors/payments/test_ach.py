"""ACH direct debit through the BlueSnap connector against the sandbox: mandate, debit, status, returns."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.http import RetryPolicy
from connectors.payments import (
    BlueSnapConnector,
    BlueSnapSecrets,
    BlueSnapSettings,
    CardEntryIncomplete,
    ChargeApproved,
    DebitStatus,
    DeclineKind,
    return_kind,
)
from connectors.sandbox.bluesnap import SandboxServer, fill_bank_form

ROUTING = "021000021"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


@pytest.fixture
def gateway(sandbox: SandboxServer) -> Iterator[BlueSnapConnector]:
    settings = BlueSnapSettings(environment_url=sandbox.url, username=sandbox.state.username, sandbox=True,
                                merchant_id=sandbox.state.merchant_id, timeout_seconds=30.0)
    conn = BlueSnapConnector(settings, BlueSnapSecrets(password=SecretStr(sandbox.state.password),
                                                       ipn_secret=SecretStr("x")),
                             retry=RetryPolicy(max_attempts=3, base_delay=0.01, jitter=0))
    yield conn
    conn.close()
    httpx.put(f"{sandbox.url}/_admin/faults", json={"next_statuses": []})


def mandate(gateway: BlueSnapConnector, account: str = "1000000001") -> str:
    entry = gateway.start_bank_entry()
    assert "/hosted/bank-form/" in entry.page_url
    fill_bank_form(entry.page_url, ROUTING, account, "Ada Lovelace", "CONSUMER_SAVINGS")
    return gateway.create_bank_shopper(pf_token=entry.pf_token, first_name="Ada", last_name="Lovelace").vaulted_shopper_id


def debits(sandbox: SandboxServer, key: str) -> list[dict[str, Any]]:
    return [t for t in httpx.get(f"{sandbox.url}/_admin/ecp").json() if t["merchantTransactionId"] == key]


def test_a_mandate_gives_the_hub_the_account_type_and_last_4_only(gateway: BlueSnapConnector) -> None:
    entry = gateway.start_bank_entry()
    with pytest.raises(CardEntryIncomplete):
        gateway.create_bank_shopper(pf_token=entry.pf_token, first_name="Ada", last_name="Lovelace")
    fill_bank_form(entry.page_url, ROUTING, "123456789", "Ada King", "CONSUMER_SAVINGS")

    account = gateway.create_bank_shopper(pf_token=entry.pf_token, first_name="Ada", last_name="Lovelace")

    assert (account.account_type, account.last4, account.holder_name) == ("CONSUMER_SAVINGS", "6789", "Ada King")
    assert "123456789" not in repr(account) and ROUTING not in repr(account)
    assert gateway.get_bank_shopper(account.vaulted_shopper_id) == account


def test_a_debit_is_pending_then_settles(gateway: BlueSnapConnector, sandbox: SandboxServer) -> None:
    shopper = mandate(gateway)
    httpx.put(f"{sandbox.url}/_admin/ecp", json={"settle_seconds": 60})
    try:
        result = gateway.debit(vaulted_shopper_id=shopper, amount=Decimal("75.00"), currency="USD",
                               merchant_transaction_id="ach-c-1")
        assert isinstance(result, ChargeApproved) and result.transaction.processing_status == "PENDING"
        assert gateway.find_debit("ach-c-1").status is DebitStatus.PENDING  # type: ignore[union-attr]
    finally:
        httpx.put(f"{sandbox.url}/_admin/ecp", json={"settle_seconds": 0})
    found = gateway.find_debit("ach-c-1")
    assert found is not None and found.status is DebitStatus.SUCCESS and found.amount == Decimal("75.00")
    assert gateway.find_debit("ach-never-sent") is None


def test_a_debit_is_sent_once_per_key_even_after_a_lost_answer(gateway: BlueSnapConnector,
                                                               sandbox: SandboxServer) -> None:
    shopper = mandate(gateway)
    first = gateway.debit(vaulted_shopper_id=shopper, amount=Decimal("10.00"), currency="USD",
                          merchant_transaction_id="ach-once-1")
    again = gateway.debit(vaulted_shopper_id=shopper, amount=Decimal("10.00"), currency="USD",
                          merchant_transaction_id="ach-once-1")
    assert isinstance(again, ChargeApproved) and again.recovered
    assert again.transaction_id == first.transaction_id  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="already debited"):
        gateway.debit(vaulted_shopper_id=shopper, amount=Decimal("11.00"), currency="USD",
                      merchant_transaction_id="ach-once-1")
    dropping = mandate(gateway, "1000000079")  # the debit is made, its answer is lost

    lost = gateway.debit(vaulted_shopper_id=dropping, amount=Decimal("10.00"), currency="USD",
                         merchant_transaction_id="ach-once-2")

    assert isinstance(lost, ChargeApproved) and lost.recovered
    assert len(debits(sandbox, "ach-once-1")) == 1 and len(debits(sandbox, "ach-once-2")) == 1


def test_a_return_reads_back_with_its_code_and_kind(gateway: BlueSnapConnector) -> None:
    shopper = mandate(gateway, "1000000036")
    gateway.debit(vaulted_shopper_id=shopper, amount=Decimal("10.00"), currency="USD",
                  merchant_transaction_id="ach-r02")

    found = gateway.find_debit("ach-r02")

    assert found is not None and found.status is DebitStatus.RETURNED
    assert (found.return_code, found.return_kind) == ("R02", DeclineKind.HARD)
    assert return_kind("R01") is DeclineKind.SOFT and return_kind("R10") is DeclineKind.HARD


def test_a_bank_form_url_setting_needs_the_token_slot() -> None:
    with pytest.raises(ValueError, match="pf_token"):
        BlueSnapSettings(environment_url="https://sandbox.bluesnap.com", username="u",
                         merchant_id="1", bank_form_url="https://pay.example.com/ach")
