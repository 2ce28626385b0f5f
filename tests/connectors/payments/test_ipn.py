"""IPN webhooks: signing, verification, staleness, replays and parsing (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from connectors.payments.ipn import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    IpnBadSignature,
    IpnEventType,
    IpnMalformed,
    IpnStale,
    IpnUnsigned,
    encode_ipn,
    parse_timestamp,
    sign_ipn,
    signature,
    verify_ipn,
)

SECRET = SecretStr("ipn-shared-secret")
AT = datetime(2026, 8, 10, 9, 30, 0, 250_000, tzinfo=UTC)
CHARGE = {"transactionType": "CHARGE", "referenceNumber": "1012345678", "merchantTransactionId": "inv-42-a1",
          "invoiceChargeAmount": "100.10", "invoiceChargeCurrency": "USD", "accountId": "19549018"}


def nobody_seen(_: str) -> bool:
    return False


def signed(fields: dict[str, str], at: datetime = AT, secret: SecretStr = SECRET) -> tuple[bytes, dict[str, str]]:
    body = encode_ipn(fields)
    return body, sign_ipn(body, secret, at=at)


def test_a_signed_charge_verifies_into_a_typed_event() -> None:
    body, headers = signed(CHARGE)

    delivery = verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT + timedelta(seconds=3))

    event = delivery.event
    assert not delivery.replay
    assert event.transaction_type is IpnEventType.CHARGE
    assert (event.transaction_id, event.merchant_transaction_id, event.currency) == ("1012345678", "inv-42-a1", "USD")
    assert event.amount == Decimal("100.10") and isinstance(event.amount, Decimal)
    assert event.delivery_id == "CHARGE:1012345678"
    assert event.sent_at == datetime(2026, 8, 10, 9, 30, 0, 250_000, tzinfo=UTC)
    assert event.fields["accountId"] == "19549018"


def test_the_signature_is_hex_hmac_sha256_over_the_timestamp_followed_by_the_body() -> None:
    import hashlib
    import hmac

    body, headers = signed(CHARGE)
    expected = hmac.new(b"ipn-shared-secret", headers[TIMESTAMP_HEADER].encode() + body, hashlib.sha256).hexdigest()

    assert headers[SIGNATURE_HEADER] == expected
    assert headers[TIMESTAMP_HEADER] == "2026-08-10 09:30:00.250"


@pytest.mark.parametrize("tamper", ["secret", "body", "timestamp"])
def test_a_delivery_whose_signature_does_not_match_is_rejected(tamper: str) -> None:
    body, headers = signed(CHARGE, secret=SecretStr("someone-else") if tamper == "secret" else SECRET)
    if tamper == "body":
        body = body.replace(b"100.10", b"1.00")
    if tamper == "timestamp":
        headers[TIMESTAMP_HEADER] = "2026-08-10 09:31:00.250"

    with pytest.raises(IpnBadSignature, match="signature does not match"):
        verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT)


@pytest.mark.parametrize("missing", [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_an_unsigned_delivery_is_rejected_naming_the_missing_header(missing: str) -> None:
    body, headers = signed(CHARGE)
    del headers[missing]

    with pytest.raises(IpnUnsigned, match=f"the {missing} header is missing"):
        verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT)


@pytest.mark.parametrize("offset, stale", [
    (timedelta(minutes=4, seconds=59), False),
    (timedelta(minutes=5, seconds=1), True),
    (-timedelta(minutes=5, seconds=1), True),  # from the future: a wrong clock or a forged stamp
    (timedelta(hours=3), True),
])
def test_a_delivery_outside_the_five_minute_tolerance_is_stale(offset: timedelta, stale: bool) -> None:
    body, headers = signed(CHARGE)

    if stale:
        with pytest.raises(IpnStale, match="outside the 300 s tolerance"):
            verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT + offset)
    else:
        assert verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT + offset).event.amount == Decimal("100.10")


def test_the_tolerance_can_be_tightened() -> None:
    body, headers = signed(CHARGE)

    with pytest.raises(IpnStale):
        verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT + timedelta(seconds=61),
                   tolerance=timedelta(minutes=1))


def test_a_replayed_delivery_is_reported_as_a_replay_not_an_error() -> None:
    processed: set[str] = set()
    body, headers = signed(CHARGE)
    first = verify_ipn(body, headers, SECRET, seen=processed.__contains__, now=AT)
    processed.add(first.event.delivery_id)  # the hub records it with the event it applied

    again = verify_ipn(body, headers, SECRET, seen=processed.__contains__, now=AT + timedelta(seconds=30))
    # BlueSnap's retry of the same event comes with a fresh timestamp and signature: still a replay
    retry_body, retry_headers = signed(CHARGE, at=AT + timedelta(minutes=1))
    retried = verify_ipn(retry_body, retry_headers, SECRET, seen=processed.__contains__, now=AT + timedelta(minutes=1))

    assert not first.replay and again.replay and retried.replay
    assert again.event == first.event


def test_each_partial_refund_is_its_own_delivery() -> None:
    base = {"transactionType": "REFUND", "referenceNumber": "1012345678", "merchantTransactionId": "inv-42-a1",
            "invoiceChargeAmount": "10.00", "invoiceChargeCurrency": "EUR"}
    ids = []
    for refund in ("1012399001", "1012399002"):
        body, headers = signed({**base, "reversalRefNum": refund})
        event = verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT).event
        assert event.transaction_type is IpnEventType.REFUND and event.refund_transaction_id == refund
        ids.append(event.delivery_id)

    assert ids == ["REFUND:1012345678:1012399001", "REFUND:1012345678:1012399002"]


def test_headers_are_read_in_any_casing_and_the_hex_in_either_case() -> None:
    body, headers = signed(CHARGE)
    shouting = {"BLS-IPN-TIMESTAMP": headers[TIMESTAMP_HEADER], "Bls-Signature": headers[SIGNATURE_HEADER].upper()}

    assert verify_ipn(body, shouting, SECRET, seen=nobody_seen, now=AT).event.transaction_id == "1012345678"


@pytest.mark.parametrize("timestamp", ["1786354200", "1786354200000", "2026-08-10T09:30:00Z",
                                       "2026-08-10T11:30:00+02:00", "2026-08-10 09:30:00"])
def test_epoch_and_iso_timestamps_are_accepted(timestamp: str) -> None:
    body = encode_ipn(CHARGE)
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(timestamp, body, SECRET)}

    delivery = verify_ipn(body, headers, SECRET, seen=nobody_seen, now=datetime(2026, 8, 10, 9, 31, tzinfo=UTC))

    assert delivery.event.sent_at == datetime(2026, 8, 10, 9, 30, tzinfo=UTC)
    assert parse_timestamp(timestamp) == datetime(2026, 8, 10, 9, 30, tzinfo=UTC)


def test_an_unreadable_timestamp_is_malformed() -> None:
    body = encode_ipn(CHARGE)
    headers = {TIMESTAMP_HEADER: "last tuesday", SIGNATURE_HEADER: signature("last tuesday", body, SECRET)}

    with pytest.raises(IpnMalformed, match="not a date and time"):
        verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT)


@pytest.mark.parametrize("fields, message", [
    ({k: v for k, v in CHARGE.items() if k != "merchantTransactionId"}, "lacks the field merchantTransactionId"),
    ({k: v for k, v in CHARGE.items() if k != "referenceNumber"}, "lacks the field referenceNumber"),
    ({k: v for k, v in CHARGE.items() if k != "invoiceChargeAmount"}, "lacks the field invoiceChargeAmount"),
    ({**CHARGE, "invoiceChargeAmount": "ten"}, "not a number"),
    ({**CHARGE, "invoiceChargeCurrency": "DOLLARS"}, "3-letter invoiceChargeCurrency"),
])
def test_a_signed_but_incomplete_body_is_malformed_naming_the_field(fields: dict[str, str], message: str) -> None:
    body, headers = signed(fields)

    with pytest.raises(IpnMalformed, match=message):
        verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT)


def test_a_repeated_field_is_malformed() -> None:
    body = encode_ipn(CHARGE) + b"&invoiceChargeAmount=1.00"
    headers = sign_ipn(body, SECRET, at=AT)

    with pytest.raises(IpnMalformed, match="repeats the field 'invoiceChargeAmount'"):
        verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT)


def test_other_transaction_types_verify_as_other_so_the_hub_can_acknowledge_them() -> None:
    body, headers = signed({"transactionType": "CANCELLATION", "referenceNumber": "77"})

    event = verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT).event

    assert event.transaction_type is IpnEventType.OTHER and event.type_name == "CANCELLATION"
    assert event.amount is None and event.delivery_id == "CANCELLATION:77"


def test_a_chargeback_needs_no_amount() -> None:
    body, headers = signed({"transactionType": "CHARGEBACK", "referenceNumber": "1012345678",
                            "merchantTransactionId": "inv-42-a1"})

    event = verify_ipn(body, headers, SECRET, seen=nobody_seen, now=AT).event

    assert event.transaction_type is IpnEventType.CHARGEBACK and event.merchant_transaction_id == "inv-42-a1"


def test_an_empty_secret_is_a_configuration_error_not_a_pass() -> None:
    body, headers = signed(CHARGE)

    with pytest.raises(ValueError, match="IPN secret is empty"):
        verify_ipn(body, headers, SecretStr(""), seen=nobody_seen, now=AT)
