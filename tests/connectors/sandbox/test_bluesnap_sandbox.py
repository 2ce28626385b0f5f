"""Behaviour of the BlueSnap sandbox gateway, exercised over real HTTP against a threaded uvicorn."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.sandbox.bluesnap import TEST_CARDS, SandboxServer
from connectors.sandbox.bluesnap.cards import card_type, luhn_ok

API = "/services/2"


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
    httpx.put(f"{server.url}/_admin/faults", json={"rate_429": 0, "rate_503": 0, "next_statuses": []})


def new_token(c: httpx.Client) -> str:
    r = c.post(f"{API}/payment-fields-tokens")
    assert r.status_code == 201, r.text
    return r.headers["Location"].rsplit("/", 1)[-1]


def submit(c: httpx.Client, token: str, **form: str) -> httpx.Response:
    fields = {"cardNumber": "4111111111111111", "holderName": "Grace Hopper", "expiry": "12/38", "cvv": "123",
              **form}
    return c.post(f"/hosted/card-form/{token}", data=fields)


def shopper(c: httpx.Client, number: str = "4111111111111111") -> dict[str, Any]:
    token = new_token(c)
    assert submit(c, token, cardNumber=number).status_code == 200
    r = c.post(f"{API}/vaulted-shoppers", json={"firstName": "Grace", "lastName": "Hopper",
                                                "paymentSources": {"creditCardInfo": [{"pfToken": token}]}})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def error_names(r: httpx.Response) -> list[str]:
    return [m["errorName"] for m in r.json()["message"]]


def test_a_payment_fields_token_comes_back_in_the_location_header(client: httpx.Client, server: SandboxServer) -> None:
    r = client.post(f"{API}/payment-fields-tokens")

    assert r.status_code == 201 and r.content == b""
    assert r.headers["Location"].startswith(f"{server.url}{API}/payment-fields-tokens/")


def test_the_api_refuses_wrong_credentials_in_bluesnaps_error_shape(server: SandboxServer) -> None:
    r = httpx.post(f"{server.url}{API}/payment-fields-tokens", auth=("API_cashrail", "nope"))

    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert r.json() == {"message": [{"errorName": "UNAUTHORIZED", "code": "90009",
                                     "description": "Invalid API username or password"}]}


def test_an_unknown_api_version_is_refused(client: httpx.Client) -> None:
    r = client.post(f"{API}/payment-fields-tokens", headers={"bluesnap-version": "latest"})
    assert r.status_code == 400 and error_names(r) == ["INVALID_API_VERSION"]


def test_the_card_entry_page_is_an_html_form_with_the_card_fields(client: httpx.Client) -> None:
    r = client.get(f"/hosted/card-form/{new_token(client)}")

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for name, autocomplete in (("cardNumber", "cc-number"), ("holderName", "cc-name"), ("expiry", "cc-exp"),
                               ("cvv", "cc-csc")):
        assert f'name="{name}"' in r.text and f'autocomplete="{autocomplete}"' in r.text
    assert '<form method="post"' in r.text


@pytest.mark.parametrize("form, field, message", [
    ({"cardNumber": "4111111111111112"}, "Card number", "check digit mismatch"),
    ({"cardNumber": "4111"}, "Card number", "12 to 19 digits"),
    ({"cardNumber": "9111111111111110"}, "Card number", "card type is not accepted"),
    ({"holderName": "  "}, "Name on card", "enter the name as printed on the card"),
    ({"expiry": "01/20"}, "Expiry (MM/YY)", "the card expired in 01/2020"),
    ({"expiry": "13/30"}, "Expiry (MM/YY)", "the month must be 01 to 12"),
    ({"expiry": "2030-01"}, "Expiry (MM/YY)", "enter the expiry as MM/YY"),
    ({"cvv": "12"}, "Security code (CVV)", "the security code has 3 digits"),
    ({"cardNumber": "378282246310005", "cvv": "123"}, "Security code (CVV)", "the security code has 4 digits"),
])
def test_bad_card_details_are_shown_on_the_page_naming_the_field(client: httpx.Client, form: dict[str, str],
                                                                  field: str, message: str) -> None:
    token = new_token(client)

    r = submit(client, token, **form)

    assert r.status_code == 422 and "Please correct the card details" in r.text
    assert re.search(rf"<li>{re.escape(field)}: [^<]*{re.escape(message)}[^<]*</li>", r.text), r.text
    assert re.search(rf'<p class="err" id="\w+-error">[^<]*{re.escape(message)}', r.text)
    assert client.post(f"{API}/vaulted-shoppers", json={
        "firstName": "G", "lastName": "H", "paymentSources": {"creditCardInfo": [{"pfToken": token}]},
    }).json()["message"][0]["errorName"] == "NO_PAYMENT_DETAILS_LINKED_TO_TOKEN"


def test_a_rejected_form_keeps_what_was_typed_except_the_security_code(client: httpx.Client) -> None:
    r = submit(client, new_token(client), cardNumber="4111111111111112", cvv="987", holderName="Grace <Hopper>")

    assert 'value="4111111111111112"' in r.text and 'value="Grace &lt;Hopper&gt;"' in r.text
    assert 'value="987"' not in r.text and 'name="cvv" value=""' in r.text  # never echoed back


def test_a_submitted_card_is_vaulted_with_its_type_holder_last4_and_expiry(client: httpx.Client) -> None:
    token = new_token(client)
    done = submit(client, token, cardNumber="5555 5555 5555 4444", holderName="Grace Brewster Hopper",
                  expiry="3/2037")
    assert done.status_code == 200 and "MASTERCARD card ending 4444" in done.text

    created = client.post(f"{API}/vaulted-shoppers", json={
        "firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com",
        "paymentSources": {"creditCardInfo": [{"pfToken": token}]}}).json()
    fetched = client.get(f"{API}/vaulted-shoppers/{created['vaultedShopperId']}").json()

    assert fetched == created
    info = fetched["paymentSources"]["creditCardInfo"][0]
    assert info["creditCard"] == {"cardLastFourDigits": "4444", "cardType": "MASTERCARD", "cardSubType": "CREDIT",
                                  "expirationMonth": "03", "expirationYear": "2037"}
    assert info["billingContactInfo"] == {"firstName": "Grace Brewster", "lastName": "Hopper"}
    assert "5555555555554444" not in str(fetched)
    # the link now says the card is saved instead of asking again
    assert "ending 4444" in client.get(f"/hosted/card-form/{token}").text


def test_unknown_and_expired_links_say_so(client: httpx.Client) -> None:
    assert client.get("/hosted/card-form/nope").status_code == 404
    with SandboxServer(token_ttl=0.05) as short:
        creds = short.credentials
        with httpx.Client(base_url=short.url, auth=(creds["username"], creds["password"])) as c:
            token = new_token(c)
            time.sleep(0.1)
            page = c.get(f"/hosted/card-form/{token}")
            vault = c.post(f"{API}/vaulted-shoppers", json={"firstName": "G", "lastName": "H", "paymentSources": {
                "creditCardInfo": [{"pfToken": token}]}})
    assert page.status_code == 410 and "Link expired" in page.text
    assert error_names(vault) == ["EXPIRED_TOKEN"]


def test_a_charge_is_recorded_and_retrievable_by_id_and_by_merchant_transaction_id(client: httpx.Client) -> None:
    s = shopper(client)
    r = client.post(f"{API}/transactions", json={"cardTransactionType": "AUTH_CAPTURE", "amount": "42.50",
                                                 "currency": "eur", "vaultedShopperId": s["vaultedShopperId"],
                                                 "merchantTransactionId": "sbx-1"})
    assert r.status_code == 200, r.text
    tx = r.json()

    assert (tx["amount"], tx["currency"], tx["processingInfo"]["processingStatus"]) == (42.5, "EUR", "success")
    assert client.get(f"{API}/transactions/{tx['transactionId']}").json() == tx
    assert client.get(f"{API}/transactions/sbx-1,42").json() == tx
    wrong_merchant = client.get(f"{API}/transactions/sbx-1,43")
    assert wrong_merchant.status_code == 403 and error_names(wrong_merchant) == ["MERCHANT_ID_MISMATCH"]
    missing = client.get(f"{API}/transactions/sbx-none,42")
    assert missing.status_code == 404 and error_names(missing) == ["TRANSACTION_NOT_FOUND"]


def test_a_declining_test_card_answers_400_with_code_14002_and_records_no_charge(client: httpx.Client,
                                                                                  server: SandboxServer) -> None:
    s = shopper(client, "4000000000009995")
    before = httpx.get(f"{server.url}/_admin/counts").json()

    r = client.post(f"{API}/transactions", json={"cardTransactionType": "AUTH_CAPTURE", "amount": 10,
                                                 "currency": "USD", "vaultedShopperId": s["vaultedShopperId"]})

    assert r.status_code == 400
    assert r.json() == {"message": [{"errorName": "INSUFFICIENT_FUNDS", "code": "14002",
                                     "description": "Insufficient funds."}]}
    after = httpx.get(f"{server.url}/_admin/counts").json()
    assert (after["charges"], after["declines"]) == (before["charges"], before["declines"] + 1)


@pytest.mark.parametrize("body, error_name", [
    ({"cardTransactionType": "AUTH_ONLY"}, "INVALID_TRANSACTION_TYPE"),
    ({"amount": "-1"}, "INVALID_AMOUNT"),
    ({"currency": "EURO"}, "VALIDATION_GENERAL_FAILURE"),
    ({"merchantTransactionId": "x" * 51}, "INVALID_MERCHANT_TRANSACTION_ID"),
    ({"vaultedShopperId": 1}, "SHOPPER_NOT_FOUND"),
])
def test_bad_transactions_are_refused_naming_the_problem(client: httpx.Client, body: dict[str, Any],
                                                         error_name: str) -> None:
    s = shopper(client)
    good = {"cardTransactionType": "AUTH_CAPTURE", "amount": "1.00", "currency": "USD",
            "vaultedShopperId": s["vaultedShopperId"]}

    r = client.post(f"{API}/transactions", json={**good, **body})

    assert r.status_code in (400, 404) and error_names(r) == [error_name]


def test_refunds_may_not_exceed_what_was_charged(client: httpx.Client) -> None:
    s = shopper(client)
    tx = client.post(f"{API}/transactions", json={"cardTransactionType": "AUTH_CAPTURE", "amount": "30.00",
                                                  "currency": "USD", "vaultedShopperId": s["vaultedShopperId"]}).json()

    part = client.post(f"{API}/transactions/refund/{tx['transactionId']}", json={"amount": "25.00"})
    too_much = client.post(f"{API}/transactions/refund/{tx['transactionId']}", json={"amount": "5.01"})
    rest = client.post(f"{API}/transactions/refund/{tx['transactionId']}", json={})

    assert part.status_code == 200 and part.json()["refundStatus"] == "SUCCESS"
    assert too_much.status_code == 400 and error_names(too_much) == ["REFUND_MAX_AMOUNT_FAILURE"]
    assert rest.json()["amount"] == 5.0


def test_injected_429_carries_retry_after_and_503_follows_in_order(client: httpx.Client,
                                                                   server: SandboxServer) -> None:
    httpx.put(f"{server.url}/_admin/faults", json={"next_statuses": [429, 503], "retry_after": 7}).raise_for_status()

    first = client.post(f"{API}/payment-fields-tokens")
    second = client.post(f"{API}/payment-fields-tokens")
    third = client.post(f"{API}/payment-fields-tokens")

    assert (first.status_code, first.headers["Retry-After"], error_names(first)) == (429, "7", ["TOO_MANY_REQUESTS"])
    assert (second.status_code, third.status_code) == (503, 201)
    assert httpx.get(f"{server.url}/_admin/stats").json()["api_versions"]["3.0"] >= 1


def test_admin_settings_refuse_bad_values(server: SandboxServer) -> None:
    bad_fault = httpx.put(f"{server.url}/_admin/faults", json={"next_statuses": [500]})
    bad_url = httpx.put(f"{server.url}/_admin/ipn", json={"url": "ftp://hub"})

    assert bad_fault.status_code == 400 and "429 and 503 only" in bad_fault.text
    assert bad_url.status_code == 400 and "http(s) URL" in bad_url.text


def test_the_documented_test_cards_are_valid_numbers_of_known_brands(server: SandboxServer) -> None:
    listed = httpx.get(f"{server.url}/_admin/test-cards").json()

    assert {c["number"] for c in listed} == set(TEST_CARDS)
    for number in TEST_CARDS:
        assert luhn_ok(number) and card_type(number) is not None, number
    assert not luhn_ok("4111111111111112")
    assert [card_type(n) for n in ("4111111111111111", "2221000000000009", "371449635398431", "6500000000000002",
                                   "9111111111111110")] == ["VISA", "MASTERCARD", "AMEX", "DISCOVER", None]


def test_without_an_ipn_url_deliveries_are_kept_as_failed_with_the_reason(client: httpx.Client,
                                                                          server: SandboxServer) -> None:
    s = shopper(client)
    tx = client.post(f"{API}/transactions", json={"cardTransactionType": "AUTH_CAPTURE", "amount": "3.00",
                                                  "currency": "USD", "vaultedShopperId": s["vaultedShopperId"]}).json()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = [d for d in httpx.get(f"{server.url}/_admin/ipn/deliveries").json()
                if d["referenceNumber"] == tx["transactionId"]]
        if rows and rows[0]["status"] != "pending":
            break
        time.sleep(0.02)
    assert rows[0]["status"] == "failed" and "no IPN URL" in rows[0]["error"]
