"""What the BlueSnap connector hands back: cards on file, transactions, charge results, errors.

Declines are results, not exceptions: a collection run must tell "retry later" (soft) from
"never retry, ask the customer for a new card" (hard) for every invoice, and an exception
per declined card would make that the error path. Everything else that goes wrong (bad
credentials, a malformed request, an unknown shopper) is an error from ``connectors.http``
or one of the card-entry errors below.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from connectors.http import ClientRequestError, get_ci
from connectors.money import minor_units

# Decline error names (BlueSnap's ``errorName`` on an HTTP 400, code 14002). The first three
# of each list are the ones EXTERNAL-APIS.md names; the others are BlueSnap processing error
# names seen in SDKs (unverified which of them BlueSnap really sends for a vaulted card).
SOFT_DECLINES: frozenset[str] = frozenset({
    "DO_NOT_HONOR", "INSUFFICIENT_FUNDS", "CALL_ISSUER",
    "LIMIT_EXCEEDED", "PROCESSING_GENERAL_DECLINE", "GENERAL_PAYMENT_PROCESSING_ERROR",
    "THE_ISSUER_IS_UNAVAILABLE_OR_OFFLINE", "PROCESSING_TIMEOUT", "NO_AVAILABLE_PROCESSORS",
})
HARD_DECLINES: frozenset[str] = frozenset({
    "EXPIRED_CARD", "CARD_LOST_OR_STOLEN", "ACCOUNT_CLOSED",
    "PICKUP_CARD", "RESTRICTED_CARD", "INVALID_CARD_NUMBER", "INVALID_CARD_TYPE", "HIGH_RISK_ERROR",
})

#: BlueSnap's Hosted Payment Fields token errors (names from a BlueSnap SDK; unverified).
TOKEN_NOT_COMPLETED = "NO_PAYMENT_DETAILS_LINKED_TO_TOKEN"
TOKEN_GONE = frozenset({"EXPIRED_TOKEN", "TOKEN_NOT_FOUND"})

#: BlueSnap's limit on merchantTransactionId (unverified; 50 is what its docs are quoted as).
MAX_MERCHANT_TRANSACTION_ID = 50


class DeclineKind(StrEnum):
    """Whether a declined card may be charged again."""

    SOFT = "soft"  # temporary (funds, issuer): retry on the schedule
    HARD = "hard"  # final (expired, lost, closed): never retry; ask for a new card


def decline_kind(error_name: str | None) -> DeclineKind | None:
    """The kind of decline BlueSnap's ``errorName`` means, or None when it is no decline."""
    name = (error_name or "").strip().upper()
    if name in HARD_DECLINES:
        return DeclineKind.HARD
    if name in SOFT_DECLINES:
        return DeclineKind.SOFT
    return None


# --- card entry -------------------------------------------------------------------------


@dataclass(frozen=True)
class CardEntry:
    """A card-entry link to send to a customer contact (seed 000: choose the contact, "Go").

    Attributes:
        pf_token: BlueSnap's Hosted Payment Fields token the card will be bound to.
        page_url: The page where the contact enters the card.
    """

    pf_token: str
    page_url: str


class CardEntryIncomplete(ClientRequestError):
    """The contact has not entered a card on the card-entry page yet; ask again later."""


class CardEntryExpired(ClientRequestError):
    """The card-entry token expired or is unknown; send the contact a new link."""


@dataclass(frozen=True)
class CardOnFile:
    """A vaulted shopper and the card BlueSnap holds for them (what the hub shows, seed 000)."""

    vaulted_shopper_id: str
    card_type: str
    holder_name: str
    last4: str
    expiry_month: int
    expiry_year: int
    email: str | None = None

    @property
    def expiry(self) -> str:
        """``MM/YYYY``, as cards print it."""
        return f"{self.expiry_month:02d}/{self.expiry_year:04d}"


# --- transactions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Transaction:
    """A card transaction as BlueSnap reports it."""

    transaction_id: str
    merchant_transaction_id: str | None
    amount: Decimal
    currency: str
    vaulted_shopper_id: str | None
    card_transaction_type: str
    processing_status: str | None = None
    card_type: str | None = None
    last4: str | None = None
    #: the refunds BlueSnap lists on the transaction (retrieve answers only)
    refunds: tuple[RefundResult, ...] = ()


@dataclass(frozen=True)
class ChargeApproved:
    """The card was charged.

    Attributes:
        transaction: The gateway's transaction.
        recovered: True when the charge's response was lost (or an earlier process sent it)
            and the transaction was found by its merchantTransactionId instead of re-sent.
    """

    transaction: Transaction
    recovered: bool = False

    @property
    def transaction_id(self) -> str:
        return self.transaction.transaction_id


@dataclass(frozen=True)
class ChargeDeclined:
    """The card was declined; nothing was charged.

    Attributes:
        merchant_transaction_id: The key the charge was sent with.
        error_name: BlueSnap's ``errorName`` (e.g. INSUFFICIENT_FUNDS).
        kind: SOFT (retry later) or HARD (never retry; ask for a new card).
        description: BlueSnap's words, for people.
    """

    merchant_transaction_id: str
    error_name: str
    kind: DeclineKind
    description: str = ""

    @property
    def retry_allowed(self) -> bool:
        return self.kind is DeclineKind.SOFT

    @property
    def needs_new_card(self) -> bool:
        return self.kind is DeclineKind.HARD


ChargeResult = ChargeApproved | ChargeDeclined


@dataclass(frozen=True)
class RefundResult:
    """A refund BlueSnap accepted (``recovered``: found on the charge after a lost answer, not sent again)."""

    refund_transaction_id: str
    transaction_id: str
    amount: Decimal | None
    status: str | None
    recovered: bool = False


# --- money ------------------------------------------------------------------------------


def format_amount(amount: Decimal, currency: str) -> str:
    """``amount`` as the text BlueSnap gets: exactly the currency's minor unit (JPY 0, USD 2).

    Raises:
        ValueError: not a Decimal, not positive, a bad currency code, or more decimals than
            the currency has (the hub rounds once per line; the gateway never rounds again).
    """
    if isinstance(amount, bool) or not isinstance(amount, Decimal):
        raise ValueError(f"amount must be a Decimal (never a float), not {amount!r}")
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount must be a positive number, not {amount}")
    places = minor_units(currency)
    exponent = Decimal(1).scaleb(-places)
    if amount != amount.quantize(exponent):
        raise ValueError(f"amount {amount} has more decimals than {currency.upper()}'s {places}; "
                         "round it to the currency's minor unit first")
    return format(amount.quantize(exponent), "f")


def parse_decimal(value: Any, field: str) -> Decimal:
    """A JSON number or text as Decimal; a clear error naming the field otherwise."""
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError(f"{field} is missing")
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{field} is not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{field} is not a number: {value!r}")
    return result


# --- parsing BlueSnap bodies ------------------------------------------------------------


def in_minor_units(amount: Decimal, currency: str | None) -> Decimal:
    """``100.1`` USD as ``100.10``: the currency's decimals, only where nothing is lost."""
    if not currency:
        return amount
    try:
        exact = amount.quantize(Decimal(1).scaleb(-minor_units(currency)))
    except (ValueError, ArithmeticError):
        return amount
    return exact if exact == amount else amount


def parse_card_on_file(body: Any) -> CardOnFile:
    """A vaulted shopper body -> its first card (the hub vaults one card per shopper)."""
    if not isinstance(body, dict):
        raise ValueError("BlueSnap answered a vaulted shopper without a JSON object")
    sources = get_ci(body, "paymentSources") or {}
    cards = get_ci(sources, "creditCardInfo") or []
    if not cards:
        raise ValueError(f"vaulted shopper {get_ci(body, 'vaultedShopperId')} holds no card")
    info = cards[0]
    card = get_ci(info, "creditCard") or {}
    contact = get_ci(info, "billingContactInfo") or {}
    first = get_ci(contact, "firstName") or get_ci(body, "firstName") or ""
    last = get_ci(contact, "lastName") or get_ci(body, "lastName") or ""
    try:
        month = int(get_ci(card, "expirationMonth"))
        year = int(get_ci(card, "expirationYear"))
    except (TypeError, ValueError):
        raise ValueError("the vaulted card has no readable expiry") from None
    return CardOnFile(
        vaulted_shopper_id=str(get_ci(body, "vaultedShopperId")),
        card_type=str(get_ci(card, "cardType") or ""),
        holder_name=" ".join(p for p in (str(first).strip(), str(last).strip()) if p),
        last4=str(get_ci(card, "cardLastFourDigits") or ""),
        expiry_month=month,
        expiry_year=year,
        email=get_ci(body, "email"),
    )


def parse_transaction(body: Any) -> Transaction:
    """A card transaction body (create or retrieve) -> Transaction."""
    if not isinstance(body, dict) or get_ci(body, "transactionId") in (None, ""):
        raise ValueError("BlueSnap answered a transaction without a transactionId")
    card = get_ci(body, "creditCard") or {}
    processing = get_ci(body, "processingInfo") or {}
    shopper = get_ci(body, "vaultedShopperId")
    currency = str(get_ci(body, "currency") or "").upper()
    return Transaction(
        transaction_id=str(get_ci(body, "transactionId")),
        merchant_transaction_id=get_ci(body, "merchantTransactionId"),
        amount=in_minor_units(parse_decimal(get_ci(body, "amount"), "amount"), currency),
        currency=currency,
        vaulted_shopper_id=None if shopper is None else str(shopper),
        card_transaction_type=str(get_ci(body, "cardTransactionType") or ""),
        processing_status=get_ci(processing, "processingStatus"),
        card_type=get_ci(card, "cardType"),
        last4=get_ci(card, "cardLastFourDigits"),
        refunds=_refunds(body, currency),
    )


def _refunds(body: Any, currency: str) -> tuple[RefundResult, ...]:
    """``refunds.refund[]`` of a retrieved transaction (BlueSnap's retrieve answer)."""
    listed = get_ci(get_ci(body, "refunds") or {}, "refund") or []
    return tuple(RefundResult(
        refund_transaction_id=str(get_ci(r, "refundTransactionId")), transaction_id=str(get_ci(body, "transactionId")),
        amount=in_minor_units(parse_decimal(get_ci(r, "amount"), "refunds.refund.amount"), currency),
        status="SUCCESS") for r in (listed if isinstance(listed, list) else [listed]) if isinstance(r, dict))
