"""ACH / ECP in the BlueSnap sandbox: the hosted mandate page, ECP debits, settlement and NACHA returns."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.sandbox.bluesnap import TEST_ACCOUNTS, SandboxServer, fill_bank_form
from connectors.sandbox.bluesnap.banks import routing_ok

API = "/services/2"
ROUTING = "021000021"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(merchant_id="42") as srv:
        yield srv


@pytest.fixture()
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    creds = server.credentials
    with httpx.Client(base_url=server.url, timeout=5, auth=(creds["username"], creds["password"]),
                      headers={"bluesnap-version": "3.0"}) as c:
        yield c
    httpx.put(f"{server.url}/_admin/ecp", json={"settle_seconds": 0})


def new_token(c: httpx.Client) -> str:
    return c.post(f"{API}/payment-fields-tokens").headers["Location"].rsplit("/", 1)[-1]


def submit(c: httpx.Client, token: str, **form: str) -> httpx.Response:
    fields = {"holderName": "Grace Hopper", "routingNumber": ROUTING, "accountNumber": "1000000001",
              "accountType": "CORPORATE_CHECKING", "consent": "yes", **form}
    return c.post(f"/hosted/bank-form/{token}", data={k: v for k, v in fields.items() if v is not None})


def bank_shopper(c: httpx.Client, account: str = "1000000001") -> dict[str, Any]:
    token = new_token(c)
    assert submit(c, token, accountNumber=account).status_code == 200
    r = c.post(f"{API}/vaulted-shoppers", json={"firstName": "Grace", "lastName": "Hopper",
                                                "paymentSources": {"ecpDetails": [{"pfToken": token}]}})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def debit(c: httpx.Client, shopper: dict[str, Any], key: str, **extra: Any) -> httpx.Response:
    body = {"amount": "120.00", "currency": "USD", "vaultedShopperId": shopper["vaultedShopperId"],
            "merchantTransactionId": key, "authorizedByShopper": True,
            "ecpTransaction": shopper["paymentSources"]["ecpDetails"][0]["ecp"], **extra}
    return c.post(f"{API}/alt-transactions", json=body)


def test_routing_numbers_are_checked_by_the_aba_checksum() -> None:
    assert routing_ok("021000021") and routing_ok("011000015")
    assert not routing_ok("021000022") and not routing_ok("02100002") and not routing_ok("02100002x")


def test_the_mandate_page_shows_the_bank_fields_and_the_consent_text(client: httpx.Client) -> None:
    r = client.get(f"/hosted/bank-form/{new_token(client)}")

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for name in ("holderName", "routingNumber", "accountNumber", "accountType", "consent"):
        assert f'name="{name}"' in r.text
    assert "I authorise the merchant" in r.text and 'type="checkbox"' in r.text


@pytest.mark.parametrize("form, field, message", [
    ({"routingNumber": "021000022"}, "Routing number", "checksum mismatch"),
    ({"routingNumber": "12345"}, "Routing number", "9 digits"),
    ({"accountNumber": "12"}, "Account number", "4 to 17 digits"),
    ({"accountType": "GOLD"}, "Account type", "choose the account type"),
    ({"holderName": " "}, "Account holder", "enter the name of the account holder"),
    ({"consent": None}, "Authorisation", "tick the box"),
])
def test_bad_bank_details_are_shown_on_the_page_naming_the_field(client: httpx.Client, form: dict[str, Any],
                                                                 field: str, message: str) -> None:
    token = new_token(client)

    r = submit(client, token, **form)

    assert r.status_code == 422 and "Please correct the bank details" in r.text
    assert re.search(rf"<li>{re.escape(field)}[^<]*: [^<]*{re.escape(message)}", r.text), r.text
    vault = client.post(f"{API}/vaulted-shoppers", json={
        "firstName": "G", "lastName": "H", "paymentSources": {"ecpDetails": [{"pfToken": token}]}})
    assert vault.json()["message"][0]["errorName"] == "NO_PAYMENT_DETAILS_LINKED_TO_TOKEN"


def test_a_rejected_form_never_echoes_the_account_number(client: httpx.Client) -> None:
    r = submit(client, new_token(client), accountNumber="987654321", routingNumber="021000022")
    assert "987654321" not in r.text and 'value="021000022"' in r.text


def test_a_mandate_is_vaulted_with_masked_numbers_only(client: httpx.Client) -> None:
    created = bank_shopper(client, "123456789")
    fetched = client.get(f"{API}/vaulted-shoppers/{created['vaultedShopperId']}").json()

    assert fetched == created
    info = fetched["paymentSources"]["ecpDetails"][0]
    assert info["ecp"] == {"publicAccountNumber": "*****6789", "publicRoutingNumber": "*****0021",
                           "accountType": "CORPORATE_CHECKING"}
    assert "creditCardInfo" not in fetched["paymentSources"]
    assert "123456789" not in str(fetched) and ROUTING not in str(fetched)


def test_the_mandate_link_says_it_is_done_and_the_card_page_will_not_take_it(client: httpx.Client,
                                                                           server: SandboxServer) -> None:
    token = new_token(client)
    url = f"{server.url}/hosted/bank-form/{token}"
    assert "account ending 0001" in fill_bank_form(url, ROUTING, "1000000001", "Grace Hopper")

    assert "account ending 0001" in client.get(f"/hosted/bank-form/{token}").text
    assert client.get(f"/hosted/card-form/{token}").status_code == 409


def test_an_ecp_debit_is_pending_then_settles_and_is_found_by_its_key(client: httpx.Client,
                                                                       server: SandboxServer) -> None:
    client.put("/_admin/ecp", json={"settle_seconds": 60})
    s = bank_shopper(client)

    r = debit(client, s, "ach-settle-1")

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["processingInfo"] == {"processingStatus": "PENDING"} and body["amount"] == 120.0
    assert client.get(f"{API}/alt-transactions/ach-settle-1,42").json()["processingInfo"]["processingStatus"] == "PENDING"
    client.put("/_admin/ecp", json={"settle_seconds": 0})
    settled = client.get(f"{API}/alt-transactions/{body['transactionId']}").json()
    assert settled["processingInfo"] == {"processingStatus": "SUCCESS"}
    assert client.get(f"{API}/alt-transactions/nope,42").status_code == 404


@pytest.mark.parametrize("account", [a.number for a in TEST_ACCOUNTS.values() if a.return_code])
def test_test_accounts_return_their_nacha_code_after_capture(client: httpx.Client, account: str) -> None:
    s = bank_shopper(client, account)
    tid = debit(client, s, f"ach-ret-{account}").json()["transactionId"]

    info = client.get(f"{API}/alt-transactions/{tid}").json()["processingInfo"]

    code = TEST_ACCOUNTS[account].return_code
    assert info["processingStatus"] == "RETURNED" and info["returnCode"] == code and info["returnReason"]
    if TEST_ACCOUNTS[account].first_only:
        again = debit(client, s, f"ach-ret2-{account}").json()["transactionId"]
        assert client.get(f"{API}/alt-transactions/{again}").json()["processingInfo"]["processingStatus"] == "SUCCESS"


def test_a_return_planted_after_capture_shows_on_the_retrieve(client: httpx.Client, server: SandboxServer) -> None:
    s = bank_shopper(client)
    tid = debit(client, s, "ach-plant-1").json()["transactionId"]
    assert client.get(f"{API}/alt-transactions/{tid}").json()["processingInfo"]["processingStatus"] == "SUCCESS"

    planted = httpx.post(f"{server.url}/_admin/ecp/{tid}/return", json={"code": "R10"})

    assert planted.status_code == 200
    info = client.get(f"{API}/alt-transactions/ach-plant-1,42").json()["processingInfo"]
    assert (info["processingStatus"], info["returnCode"]) == ("RETURNED", "R10")
    assert httpx.post(f"{server.url}/_admin/ecp/{tid}/return", json={"code": "R01"}).status_code == 400
    assert httpx.post(f"{server.url}/_admin/ecp/{tid}/return", json={"code": "R99"}).status_code == 400


@pytest.mark.parametrize("change, name", [
    ({"currency": "EUR"}, "INVALID_CURRENCY"),
    ({"authorizedByShopper": None}, "VALIDATION_GENERAL_FAILURE"),
    ({"ecpTransaction": {"publicAccountNumber": "*****9999", "publicRoutingNumber": "*****0021",
                         "accountType": "CORPORATE_CHECKING"}}, "ECP_DETAILS_NOT_FOUND"),
    ({"amount": "-1"}, "INVALID_AMOUNT"),
])
def test_bad_ecp_debits_are_refused_naming_the_problem(client: httpx.Client, change: dict[str, Any],
                                                       name: str) -> None:
    r = debit(client, bank_shopper(client), "ach-bad", **change)
    assert r.status_code == 400 and r.json()["message"][0]["errorName"] == name


def test_a_bank_shopper_cannot_be_charged_as_a_card(client: httpx.Client) -> None:
    s = bank_shopper(client)
    r = client.post(f"{API}/transactions", json={"cardTransactionType": "AUTH_CAPTURE", "amount": "1.00",
                                                 "currency": "USD", "vaultedShopperId": s["vaultedShopperId"]})
    assert r.status_code == 400 and "has no card" in r.text
