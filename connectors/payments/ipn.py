"""BlueSnap IPN webhooks: sign (sandbox, tests) and verify a delivery. Pure functions.

A delivery is a form-encoded POST. BlueSnap signs it with HMAC-SHA256, hex-encoded in the
``bls-signature`` header, over the ``bls-ipn-timestamp`` header's value directly followed by
the raw body, keyed with the merchant's IPN security key. That is how two independent
integrations (Hyperswitch, a Shopware plugin) verify it; BlueSnap's own reference was not
available here, so the exact message and the timestamp's format are unverified. We accept the
timestamp as ``YYYY-MM-DD HH:MM:SS[.fff]`` (UTC), ISO 8601 or epoch seconds, and sign with the
first.

BlueSnap retries a delivery that is not answered 200, so the same event can arrive again with
a fresh timestamp and signature. An event's ``delivery_id`` is therefore its natural key
(type, transaction, refund); the hub answers a delivery it has already processed 200 and does
nothing (``IpnDelivery.replay``). ``verify_ipn`` only asks whether the id was seen: the hub
records it in the same transaction that applies the event, so a crash mid-way is redelivered
rather than lost.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode

from pydantic import SecretStr

SIGNATURE_HEADER = "bls-signature"
TIMESTAMP_HEADER = "bls-ipn-timestamp"
CONTENT_TYPE = "application/x-www-form-urlencoded"
DEFAULT_TOLERANCE = timedelta(minutes=5)
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

#: Answers "was this delivery id processed already?"; the hub backs it with its database.
SeenDeliveries = Callable[[str], bool]


class IpnEventType(StrEnum):
    CHARGE = "CHARGE"
    DECLINE = "DECLINE"
    REFUND = "REFUND"
    CHARGEBACK = "CHARGEBACK"
    #: on-demand: a payment method saved on the gateway's hosted page (``referenceNumber``: its token)
    PAYMENT_UPDATED = "PAYMENT_UPDATED"
    OTHER = "OTHER"  # any other transactionType: acknowledge it, act on nothing


_MONEY_EVENTS = frozenset({IpnEventType.CHARGE, IpnEventType.DECLINE, IpnEventType.REFUND})


class IpnRejected(ValueError):
    """A delivery the hub must refuse (answer 4xx); the message says why in plain words."""


class IpnUnsigned(IpnRejected):
    """The signature or timestamp header is missing."""


class IpnBadSignature(IpnRejected):
    """The signature does not match the body and timestamp under our secret."""


class IpnStale(IpnRejected):
    """The timestamp is outside the tolerance (an old delivery replayed, or a wrong clock)."""


class IpnMalformed(IpnRejected):
    """Signed correctly, but the body is not a readable IPN."""


@dataclass(frozen=True)
class IpnEvent:
    """One IPN, typed.

    Attributes:
        delivery_id: The event's natural key: ``TYPE:referenceNumber[:reversalRefNum]``.
        transaction_type: CHARGE, DECLINE, REFUND, CHARGEBACK, PAYMENT_UPDATED, or OTHER.
        type_name: ``transactionType`` as sent.
        transaction_id: BlueSnap's transaction id (``referenceNumber``; for PAYMENT_UPDATED the
            hosted page's token).
        merchant_transaction_id: The charge's key (required for CHARGE, DECLINE and REFUND).
        amount: ``invoiceChargeAmount`` (else ``invoiceAmount``) as Decimal; field names
            unverified. Required for CHARGE, DECLINE and REFUND.
        currency: ``invoiceChargeCurrency`` (else ``currency``).
        refund_transaction_id: ``reversalRefNum`` of a REFUND.
        sent_at: The signed timestamp.
        fields: Every field of the body.
    """

    delivery_id: str
    transaction_type: IpnEventType
    type_name: str
    transaction_id: str
    merchant_transaction_id: str | None
    amount: Decimal | None
    currency: str | None
    refund_transaction_id: str | None
    sent_at: datetime
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IpnDelivery:
    """A verified delivery; ``replay`` means it was processed before: answer 200, do nothing."""

    event: IpnEvent
    replay: bool


def encode_ipn(fields: Mapping[str, str]) -> bytes:
    """A form-encoded IPN body."""
    return urlencode(list(fields.items())).encode("utf-8")


def format_timestamp(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.fff`` in UTC."""
    if moment.tzinfo is None:
        raise ValueError("the IPN timestamp must be timezone-aware")
    return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)[:-3]


def signature(timestamp: str, body: bytes, secret: SecretStr) -> str:
    """Hex HMAC-SHA256 of ``timestamp`` directly followed by ``body``."""
    key = secret.get_secret_value().encode("utf-8")
    if not key:
        raise ValueError("the IPN secret is empty")
    return hmac.new(key, timestamp.encode("utf-8") + body, hashlib.sha256).hexdigest()


def sign_ipn(body: bytes, secret: SecretStr, *, at: datetime | None = None) -> dict[str, str]:
    """The headers a signed delivery of ``body`` carries (signature, timestamp, content type)."""
    timestamp = format_timestamp(at or datetime.now(UTC))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(timestamp, body, secret),
        "Content-Type": CONTENT_TYPE,
    }


def verify_ipn(
    body: bytes,
    headers: Mapping[str, str],
    secret: SecretStr,
    *,
    seen: SeenDeliveries,
    now: datetime | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> IpnDelivery:
    """Check a delivery's signature and age, parse it, and say whether it is a replay.

    Args:
        body: The raw request body, exactly as received.
        headers: The request headers (any casing).
        secret: The IPN security key.
        seen: True for a delivery id the hub has already processed.
        now: The current time (tests inject it); timezone-aware.
        tolerance: How far the timestamp may be from ``now``, either way.

    Raises:
        IpnUnsigned, IpnBadSignature, IpnStale, IpnMalformed: answer 4xx; nothing happened.
    """
    given = _header(headers, SIGNATURE_HEADER)
    timestamp = _header(headers, TIMESTAMP_HEADER)
    if not given or not timestamp:
        missing = SIGNATURE_HEADER if not given else TIMESTAMP_HEADER
        raise IpnUnsigned(f"the IPN is not signed: the {missing} header is missing")
    expected = signature(timestamp, body, secret)
    if not hmac.compare_digest(expected, given.strip().lower()):
        raise IpnBadSignature("the IPN signature does not match (wrong IPN secret, or the body was altered)")
    sent_at = parse_timestamp(timestamp)
    current = now or datetime.now(UTC)
    if current.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    age = current - sent_at
    if abs(age) > tolerance:
        raise IpnStale(f"the IPN timestamp {timestamp!r} is {_describe(age)}, outside the "
                       f"{int(tolerance.total_seconds())} s tolerance")
    event = parse_event(body, sent_at)
    return IpnDelivery(event=event, replay=bool(seen(event.delivery_id)))


def parse_timestamp(text: str) -> datetime:
    """The signed timestamp as an aware UTC datetime.

    Raises:
        IpnMalformed: none of the accepted forms.
    """
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        seconds = number / 1000 if number > 1e11 else number  # epoch milliseconds
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise IpnMalformed(f"the IPN timestamp {text!r} is out of range") from None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise IpnMalformed(f"the IPN timestamp {text!r} is not a date and time") from None
    return (parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed).astimezone(UTC)


def parse_event(body: bytes, sent_at: datetime) -> IpnEvent:
    """A form-encoded IPN body -> IpnEvent (the signature must already be checked).

    Raises:
        IpnMalformed: not form-encoded UTF-8, a field repeated, or a required field missing
            or unreadable; the message names the field.
    """
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise IpnMalformed("the IPN body is not form-encoded UTF-8 text") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise IpnMalformed(f"the IPN repeats the field {name!r}")
        fields[name] = value
    type_name = _required(fields, "transactionType").upper()
    try:
        kind = IpnEventType(type_name)
    except ValueError:
        kind = IpnEventType.OTHER
    reference = _required(fields, "referenceNumber")
    refund_id = fields.get("reversalRefNum") or None
    needs_money = kind in _MONEY_EVENTS
    merchant_id = _required(fields, "merchantTransactionId") if needs_money else fields.get("merchantTransactionId")
    amount_field = "invoiceChargeAmount" if fields.get("invoiceChargeAmount") else "invoiceAmount"
    raw_amount = fields.get(amount_field)
    currency = (fields.get("invoiceChargeCurrency") or fields.get("currency") or "").strip().upper() or None
    amount: Decimal | None = None
    if raw_amount:
        try:
            amount = Decimal(raw_amount)
        except ArithmeticError:
            raise IpnMalformed(f"the IPN field {amount_field} is not a number: {raw_amount!r}") from None
        if not amount.is_finite():
            raise IpnMalformed(f"the IPN field {amount_field} is not a number: {raw_amount!r}")
    if needs_money and amount is None:
        raise IpnMalformed("the IPN lacks the field invoiceChargeAmount")
    if needs_money and (currency is None or len(currency) != 3 or not currency.isalpha()):
        raise IpnMalformed("the IPN lacks a 3-letter invoiceChargeCurrency")
    delivery_id = ":".join(p for p in (type_name, reference, refund_id) if p)
    return IpnEvent(
        delivery_id=delivery_id,
        transaction_type=kind,
        type_name=type_name,
        transaction_id=reference,
        merchant_transaction_id=merchant_id,
        amount=amount,
        currency=currency,
        refund_transaction_id=refund_id,
        sent_at=sent_at,
        fields=fields,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _required(fields: Mapping[str, str], name: str) -> str:
    value = (fields.get(name) or "").strip()
    if not value:
        raise IpnMalformed(f"the IPN lacks the field {name}")
    return value


def _describe(age: timedelta) -> str:
    seconds = int(abs(age.total_seconds()))
    return f"{seconds} s old" if age >= timedelta(0) else f"{seconds} s in the future"
