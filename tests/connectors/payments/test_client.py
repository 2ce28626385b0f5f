"""Behaviour of the BlueSnap connector against a respx model of the Payment API v2."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.http import AuthenticationError, ClientRequestError, RetryPolicy, ServerError, TransportError
from connectors.payments import (
    BlueSnapConnector,
    BlueSnapSecrets,
    BlueSnapSettings,
    CardEntryExpired,
    CardEntryIncomplete,
    ChargeApproved,
    ChargeDeclined,
    DeclineKind,
)

HOST = "https://bluesnap.test"
API = f"{HOST}/services/2"
PASSWORD = "bs-Very-Secret-pass"
IPN_SECRET = "ipn-Very-Secret-key"
SHOPPER = "19549018"
KEY = "inv-42-attempt-1"
LOOKUP = f"{API}/transactions/{KEY},7654321"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def gateway(sleeps: list[float]) -> Iterator[BlueSnapConnector]:
    settings = BlueSnapSettings(environment_url=f"{HOST}/services/2/", username="API_user", merchant_id="7654321")
    secrets = BlueSnapSecrets(password=SecretStr(PASSWORD), ipn_secret=SecretStr(IPN_SECRET))
    conn = BlueSnapConnector(settings, secrets, retry=RetryPolicy(max_attempts=4, base_delay=0.01, jitter=0),
                             sleep=sleeps.append)
    yield conn
    conn.close()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def transaction(amount: str = "100.10", currency: str = "USD", tid: str = "1012345678", key: str = KEY,
                shopper: str = SHOPPER) -> dict[str, Any]:
    return {"cardTransactionType": "AUTH_CAPTURE", "transactionId": tid, "merchantTransactionId": key,
            "vaultedShopperId": int(shopper), "amount": float(amount), "currency": currency,
            "creditCard": {"cardLastFourDigits": "1111", "cardType": "VISA"},
            "processingInfo": {"processingStatus": "success"}}


def bluesnap_error(status: int, name: str, description: str, code: str = "14002") -> httpx.Response:
    return httpx.Response(status, json={"message": [{"errorName": name, "code": code, "description": description}]})


def not_found() -> httpx.Response:
    return bluesnap_error(404, "TRANSACTION_NOT_FOUND", "not found", "20008")


def charge(gw: BlueSnapConnector, amount: str = "100.10", currency: str = "USD") -> Any:
    return gw.charge(vaulted_shopper_id=SHOPPER, amount=Decimal(amount), currency=currency,
                     merchant_transaction_id=KEY)


# --- charging -----------------------------------------------------------------------


def test_an_approved_charge_is_one_auth_capture_keyed_by_the_merchant_transaction_id(
        gateway: BlueSnapConnector, api: respx.MockRouter) -> None:
    lookup = api.get(LOOKUP).mock(return_value=not_found())
    post = api.post(f"{API}/transactions").mock(return_value=httpx.Response(200, json=transaction()))

    result = charge(gateway)

    assert isinstance(result, ChargeApproved) and not result.recovered
    assert result.transaction_id == "1012345678"
    assert result.transaction.amount == Decimal("100.10") and str(result.transaction.amount) == "100.10"
    assert lookup.call_count == 1 and post.call_count == 1
    sent = post.calls[0].request
    assert json.loads(sent.content) == {"cardTransactionType": "AUTH_CAPTURE", "amount": "100.10", "currency": "USD",
                                        "vaultedShopperId": SHOPPER, "merchantTransactionId": KEY}
    assert sent.headers["bluesnap-version"] == "3.0"
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(f"API_user:{PASSWORD}".encode()).decode()


@pytest.mark.parametrize("error_name, kind", [
    ("INSUFFICIENT_FUNDS", DeclineKind.SOFT),
    ("DO_NOT_HONOR", DeclineKind.SOFT),
    ("CALL_ISSUER", DeclineKind.SOFT),
    ("EXPIRED_CARD", DeclineKind.HARD),
    ("CARD_LOST_OR_STOLEN", DeclineKind.HARD),
    ("ACCOUNT_CLOSED", DeclineKind.HARD),
])
def test_a_decline_is_a_result_whose_kind_says_whether_to_retry_or_ask_for_a_new_card(
        gateway: BlueSnapConnector, api: respx.MockRouter, error_name: str, kind: DeclineKind) -> None:
    api.get(LOOKUP).mock(return_value=not_found())
    post = api.post(f"{API}/transactions").mock(return_value=bluesnap_error(400, error_name, "Declined by issuer."))

    result = charge(gateway)

    assert result == ChargeDeclined(KEY, error_name, kind, "Declined by issuer.")
    assert result.retry_allowed is (kind is DeclineKind.SOFT)
    assert result.needs_new_card is (kind is DeclineKind.HARD)
    assert post.call_count == 1  # a decline is an answer: never re-sent


def test_a_validation_error_is_an_error_naming_bluesnaps_error(gateway: BlueSnapConnector,
                                                               api: respx.MockRouter) -> None:
    api.get(LOOKUP).mock(return_value=not_found())
    api.post(f"{API}/transactions").mock(
        return_value=bluesnap_error(400, "VALIDATION_GENERAL_FAILURE", "'currency' is not supported", "10000"))

    with pytest.raises(ClientRequestError, match="VALIDATION_GENERAL_FAILURE: 'currency' is not supported"):
        charge(gateway)


def test_refused_credentials_are_an_authentication_error_without_the_password(
        gateway: BlueSnapConnector, api: respx.MockRouter) -> None:
    api.get(LOOKUP).mock(return_value=bluesnap_error(401, "UNAUTHORIZED", "Invalid API username or password"))

    with pytest.raises(AuthenticationError) as caught:
        charge(gateway)
    assert "401" in str(caught.value) and PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(gateway) and IPN_SECRET not in repr(gateway)


def test_a_rate_limited_charge_is_retried_after_retry_after_and_charges_once(
        gateway: BlueSnapConnector, api: respx.MockRouter, sleeps: list[float]) -> None:
    api.get(LOOKUP).mock(return_value=not_found())
    post = api.post(f"{API}/transactions").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "2"}, json={"message": [{"errorName": "TOO_MANY_REQUESTS"}]}),
        httpx.Response(200, json=transaction()),
    ])

    assert isinstance(charge(gateway), ChargeApproved)
    assert post.call_count == 2 and sleeps == [2.0]


def test_a_lost_answer_is_looked_up_by_key_and_never_sent_twice(gateway: BlueSnapConnector,
                                                                api: respx.MockRouter) -> None:
    lookup = api.get(LOOKUP).mock(side_effect=[not_found(), httpx.Response(200, json=transaction())])
    post = api.post(f"{API}/transactions").mock(side_effect=httpx.ReadTimeout("timed out"))

    result = charge(gateway)

    assert isinstance(result, ChargeApproved) and result.recovered
    assert result.transaction_id == "1012345678"
    assert post.call_count == 1 and lookup.call_count == 2


@pytest.mark.parametrize("failure", [httpx.RemoteProtocolError("reset"), httpx.Response(503)])
def test_a_charge_that_did_not_happen_is_sent_again_only_after_the_lookup_finds_nothing(
        gateway: BlueSnapConnector, api: respx.MockRouter, failure: Any) -> None:
    lookup = api.get(LOOKUP).mock(return_value=not_found())
    post = api.post(f"{API}/transactions").mock(side_effect=[failure, httpx.Response(200, json=transaction())])

    result = charge(gateway)

    assert isinstance(result, ChargeApproved) and not result.recovered
    assert post.call_count == 2 and lookup.call_count == 2  # before sending, and before sending again


def test_a_charge_already_made_by_an_earlier_run_is_returned_without_sending(gateway: BlueSnapConnector,
                                                                           api: respx.MockRouter) -> None:
    api.get(LOOKUP).mock(return_value=httpx.Response(200, json=transaction()))
    post = api.post(f"{API}/transactions")

    result = charge(gateway)

    assert isinstance(result, ChargeApproved) and result.recovered and post.call_count == 0


def test_a_key_reused_for_another_amount_is_refused(gateway: BlueSnapConnector, api: respx.MockRouter) -> None:
    api.get(LOOKUP).mock(return_value=httpx.Response(200, json=transaction(amount="55.00")))
    post = api.post(f"{API}/transactions")

    with pytest.raises(ValueError, match="already charged 55.00 USD"):
        charge(gateway)
    assert post.call_count == 0


def test_when_the_gateway_stays_unreachable_the_error_says_the_charge_may_have_happened(
        gateway: BlueSnapConnector, api: respx.MockRouter) -> None:
    api.get(LOOKUP).mock(side_effect=[not_found()] + [not_found()] * 4)
    post = api.post(f"{API}/transactions").mock(return_value=httpx.Response(502))

    with pytest.raises(ServerError) as caught:
        charge(gateway)
    assert caught.value.maybe_applied and post.call_count == 4  # the retry policy's max_attempts


def test_when_the_lookup_itself_fails_nothing_is_sent_again(gateway: BlueSnapConnector,
                                                             api: respx.MockRouter) -> None:
    api.get(LOOKUP).mock(side_effect=[not_found()] + [httpx.ConnectError("down")] * 4)
    post = api.post(f"{API}/transactions").mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(TransportError):
        charge(gateway)
    assert post.call_count == 1


@pytest.mark.parametrize("amount, currency, sent", [("1000", "JPY", "1000"), ("1.234", "KWD", "1.234"),
                                                    ("7.5", "EUR", "7.50")])
def test_amounts_go_out_in_the_currencys_minor_unit(gateway: BlueSnapConnector, api: respx.MockRouter,
                                                    amount: str, currency: str, sent: str) -> None:
    api.get(LOOKUP).mock(return_value=not_found())
    post = api.post(f"{API}/transactions").mock(
        return_value=httpx.Response(200, json=transaction(amount=amount, currency=currency)))

    result = charge(gateway, amount, currency)

    assert json.loads(post.calls[0].request.content)["amount"] == sent
    assert isinstance(result, ChargeApproved) and result.transaction.amount == Decimal(amount)


@pytest.mark.parametrize("amount, currency, message", [
    (10.5, "USD", "must be a Decimal"),
    (Decimal("100.5"), "JPY", "more decimals than JPY's 0"),
    (Decimal("0"), "USD", "positive"),
    (Decimal("10"), "US", "3-letter ISO 4217"),
])
def test_bad_amounts_are_refused_before_anything_is_sent(gateway: BlueSnapConnector, api: respx.MockRouter,
                                                         amount: Any, currency: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gateway.charge(vaulted_shopper_id=SHOPPER, amount=amount, currency=currency, merchant_transaction_id=KEY)
    assert not api.calls


def test_a_merchant_transaction_id_longer_than_bluesnap_allows_is_refused(gateway: BlueSnapConnector,
                                                                         api: respx.MockRouter) -> None:
    with pytest.raises(ValueError, match="longer than 50"):
        gateway.charge(vaulted_shopper_id=SHOPPER, amount=Decimal("1"), currency="USD",
                       merchant_transaction_id="x" * 51)
    assert not api.calls


# --- lookups and refunds ------------------------------------------------------------


def test_find_transaction_asks_by_key_and_merchant_id_and_answers_none_when_unknown(
        gateway: BlueSnapConnector, api: respx.MockRouter) -> None:
    route = api.get(f"{API}/transactions/a%2Fb%20c,7654321").mock(return_value=not_found())

    assert gateway.find_transaction("a/b c") is None
    assert route.call_count == 1


def test_a_partial_refund_sends_the_amount_and_reason(gateway: BlueSnapConnector, api: respx.MockRouter) -> None:
    route = api.post(f"{API}/transactions/refund/1012345678").mock(return_value=httpx.Response(
        200, json={"refundTransactionId": 1012399999, "amount": 10.0, "refundStatus": "SUCCESS"}))

    result = gateway.refund("1012345678", amount=Decimal("10"), currency="USD", reason="credit note 7")

    assert json.loads(route.calls[0].request.content) == {"amount": "10.00", "reason": "credit note 7"}
    assert (result.refund_transaction_id, result.transaction_id, str(result.amount), result.status) == (
        "1012399999", "1012345678", "10.00", "SUCCESS")


def test_a_full_refund_sends_no_amount_and_a_lost_answer_is_not_resent(gateway: BlueSnapConnector,
                                                                       api: respx.MockRouter) -> None:
    route = api.post(f"{API}/transactions/refund/1012345678").mock(side_effect=httpx.ReadTimeout("lost"))

    with pytest.raises(TransportError) as caught:
        gateway.refund("1012345678")
    assert caught.value.maybe_applied and route.call_count == 1
    assert route.calls[0].request.content == b"{}"


def test_a_partial_refund_needs_the_currency(gateway: BlueSnapConnector) -> None:
    with pytest.raises(ValueError, match="needs the charge's currency"):
        gateway.refund("1", amount=Decimal("1"))


# --- card entry and vaulted shoppers -----------------------------------------------


SHOPPER_BODY = {
    "vaultedShopperId": 19549018, "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
    "paymentSources": {"creditCardInfo": [{
        "billingContactInfo": {"firstName": "Ada M.", "lastName": "Lovelace"},
        "creditCard": {"cardLastFourDigits": "4444", "cardType": "MASTERCARD", "expirationMonth": "07",
                       "expirationYear": "2031"}}]},
}


def test_card_entry_takes_the_token_from_the_location_header_and_builds_the_page_url(
        gateway: BlueSnapConnector, api: respx.MockRouter) -> None:
    api.post(f"{API}/payment-fields-tokens").mock(return_value=httpx.Response(
        201, headers={"Location": f"{API}/payment-fields-tokens/abc123_"}))

    entry = gateway.start_card_entry()

    assert entry.pf_token == "abc123_"
    assert entry.page_url == f"{HOST}/hosted/card-form/abc123_"


def test_a_configured_card_form_url_is_where_contacts_are_sent() -> None:
    settings = BlueSnapSettings(environment_url="https://ws.bluesnap.com", username="u", merchant_id="1",
                                card_form_url="https://pay.example.com/card?token={pf_token}")
    conn = BlueSnapConnector(settings, BlueSnapSecrets(password=SecretStr("p"), ipn_secret=SecretStr("s")))
    assert conn.card_form_url("t/1") == "https://pay.example.com/card?token=t%2F1"


def test_a_vaulted_shopper_is_created_from_the_token_and_shows_the_card(gateway: BlueSnapConnector,
                                                                       api: respx.MockRouter) -> None:
    route = api.post(f"{API}/vaulted-shoppers").mock(return_value=httpx.Response(200, json=SHOPPER_BODY))

    card = gateway.create_vaulted_shopper(pf_token="abc123_", first_name="Ada", last_name="Lovelace",
                                          email="ada@example.com")

    assert json.loads(route.calls[0].request.content) == {
        "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
        "paymentSources": {"creditCardInfo": [{"pfToken": "abc123_"}]}}
    assert (card.vaulted_shopper_id, card.card_type, card.holder_name, card.last4, card.expiry) == (
        "19549018", "MASTERCARD", "Ada M. Lovelace", "4444", "07/2031")


def test_get_vaulted_shopper_reads_the_card_on_file(gateway: BlueSnapConnector, api: respx.MockRouter) -> None:
    api.get(f"{API}/vaulted-shoppers/19549018").mock(return_value=httpx.Response(200, json=SHOPPER_BODY))

    card = gateway.get_vaulted_shopper("19549018")

    assert (card.card_type, card.last4, card.expiry_month, card.expiry_year) == ("MASTERCARD", "4444", 7, 2031)


@pytest.mark.parametrize("error_name, error", [("NO_PAYMENT_DETAILS_LINKED_TO_TOKEN", CardEntryIncomplete),
                                               ("EXPIRED_TOKEN", CardEntryExpired),
                                               ("TOKEN_NOT_FOUND", CardEntryExpired)])
def test_a_card_entry_not_completed_or_expired_is_a_typed_error(gateway: BlueSnapConnector, api: respx.MockRouter,
                                                                error_name: str, error: type[Exception]) -> None:
    api.post(f"{API}/vaulted-shoppers").mock(return_value=bluesnap_error(400, error_name, "token", "14040"))

    with pytest.raises(error):
        gateway.create_vaulted_shopper(pf_token="abc123_", first_name="Ada", last_name="Lovelace")


# --- the connector card -------------------------------------------------------------


def test_test_connection_says_in_plain_words_that_the_credentials_are_refused(
        gateway: BlueSnapConnector, api: respx.MockRouter) -> None:
    api.post(f"{API}/payment-fields-tokens").mock(
        return_value=bluesnap_error(401, "UNAUTHORIZED", "Invalid API username or password"))

    report = gateway.test_connection()

    assert not report.ok
    assert [(c.name, c.detail) for c in report.checks] == [
        ("sign in", "BlueSnap refused the API username or password")]


def test_test_connection_passes_when_signing_in_and_lookups_work(gateway: BlueSnapConnector,
                                                                 api: respx.MockRouter) -> None:
    api.post(f"{API}/payment-fields-tokens").mock(return_value=httpx.Response(
        201, headers={"Location": f"{API}/payment-fields-tokens/abc_"}))
    api.get(url__regex=rf"{API}/transactions/cashrail-test-\w+,7654321").mock(return_value=not_found())

    report = gateway.test_connection()

    assert report.ok and [c.name for c in report.checks] == ["sign in", "card entry", "merchant ID"]


def test_settings_accept_the_documented_base_url_and_refuse_a_card_form_url_without_the_token() -> None:
    assert BlueSnapSettings(environment_url="sandbox.bluesnap.com/services/2/", username="u",
                            merchant_id="1").environment_url == "https://sandbox.bluesnap.com"
    with pytest.raises(ValueError, match=r"must contain \{pf_token\}"):
        BlueSnapSettings(environment_url="https://ws.bluesnap.com", username="u", merchant_id="1",
                         card_form_url="https://pay.example.com/card")


def test_the_gateway_is_registered_as_a_connector_kind_without_streams() -> None:
    from connectors.registry import connector_class

    cls = connector_class("bluesnap")
    assert cls is BlueSnapConnector and cls.streams == ()
