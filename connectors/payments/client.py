"""BlueSnap (Payment API v2) connector: card entry, vaulted shoppers, charges, refunds, IPNs.

Every call goes through the shared :class:`connectors.http.ApiClient` (HTTP Basic with the
API username and password, ``bluesnap-version: 3.0``); 429 and 503 are retried there. A
charge is never blindly re-sent: its ``merchantTransactionId`` is the idempotency key, and
whenever a charge may have reached BlueSnap without us hearing back, the transaction is looked
up by that key before anything is sent again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from connectors.base import Check, ConnectionReport, Record, Role, SourceConnector, StreamSpec
from connectors.http import (
    ApiClient,
    ApiError,
    AuthenticationError,
    ClientRequestError,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    send_once,
)
from connectors.payments import ipn
from connectors.payments.ach import EcpPayments
from connectors.payments.auth import BasicAuth
from connectors.payments.fees import ProcessingFee, processing_fees
from connectors.payments.models import (
    MAX_MERCHANT_TRANSACTION_ID,
    CardEntry,
    CardOnFile,
    ChargeApproved,
    ChargeDeclined,
    ChargeResult,
    RefundResult,
    Transaction,
    decline_kind,
    format_amount,
    in_minor_units,
    parse_card_on_file,
    parse_decimal,
    parse_transaction,
)
from connectors.payments.settings import SERVICES, BlueSnapSecrets, BlueSnapSettings
from connectors.payments.vault import vault_shopper

__all__ = ["BlueSnapConnector", "BlueSnapSecrets", "BlueSnapSettings"]

API_VERSION = "3.0"
#: where the bundled sandbox serves the card-entry page; real BlueSnap needs a page of your own
#: embedding its Hosted Payment Fields (set ``card_form_url`` to it)
DEFAULT_CARD_FORM_PATH = "/hosted/card-form/{pf_token}"
#: a retrieve answer that means "no such transaction" (404 on the sandbox; BlueSnap's own
#: answer for an unknown merchantTransactionId is unverified, so its error name counts too)
_NOT_FOUND_NAMES = frozenset({"TRANSACTION_NOT_FOUND"})


class BlueSnapConnector(EcpPayments, SourceConnector):
    """The BlueSnap payment gateway: a connector card with Test Connection and no sync streams; cards
    here, ACH direct debit (ECP) in :class:`connectors.payments.ach.EcpPayments`."""

    kind: ClassVar[str] = "bluesnap"
    role: ClassVar[Role] = "gateway"
    title: ClassVar[str] = "BlueSnap"
    # A gateway has no page size or lookback: its card is not a sync source.
    settings_model = BlueSnapSettings
    secrets_model = BlueSnapSecrets
    streams: ClassVar[tuple[StreamSpec, ...]] = ()
    prompt_order: ClassVar[tuple[str, ...]] = ("environment_url", "username", "secrets", "merchant_id")

    def __init__(
        self,
        settings: BlueSnapSettings,
        secrets: BlueSnapSecrets,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._ipn_secret = secrets.ipn_secret
        self._retry = retry
        self._sleep = sleep
        self.api = ApiClient(
            settings.environment_url + SERVICES,
            auth=BasicAuth(settings.username, secrets.password),
            headers={"bluesnap-version": API_VERSION, "Accept": "application/json"},
            timeout=settings.timeout_seconds,
            transport=transport,
            retry=retry,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return (f"BlueSnapConnector(environment_url={self.settings.environment_url!r}, "
                f"username={self.settings.username!r})")

    @property
    def time_zone(self) -> ZoneInfo:
        return ZoneInfo("UTC")

    def read(self, stream: StreamSpec, since: datetime | None) -> Iterator[list[Record]]:
        raise KeyError(f"{self.kind} is a payment gateway and has no stream {stream.name!r}")

    def close(self) -> None:
        self.api.close()

    # --- card entry (seed 000) --------------------------------------------------------

    def card_form_url(self, pf_token: str) -> str:
        """The page a contact opens to enter the card for ``pf_token``."""
        template = self.settings.card_form_url or (self.settings.environment_url + DEFAULT_CARD_FORM_PATH)
        return template.replace("{pf_token}", quote(pf_token, safe=""))

    def start_card_entry(self) -> CardEntry:
        """Get a Hosted Payment Fields token and the card-entry page to send the contact.

        The token comes back in the ``Location`` header, as BlueSnap sends it. A token that is
        never used costs nothing, so this POST is retried like a read.
        """
        response = self.api.request("POST", "/payment-fields-tokens")
        location = response.headers.get("Location", "")
        token = location.rstrip("/").rsplit("/", 1)[-1]
        if not location or not token:
            raise ApiError("BlueSnap answered without a token in the Location header",
                           status_code=response.status_code, method="POST", path="/payment-fields-tokens")
        return CardEntry(pf_token=token, page_url=self.card_form_url(token))

    def create_vaulted_shopper(
        self, *, pf_token: str, first_name: str, last_name: str, email: str | None = None
    ) -> CardOnFile:
        """Vault the card the contact entered for ``pf_token`` under a new shopper.

        Raises:
            CardEntryIncomplete: the contact has not submitted the card yet.
            CardEntryExpired: the token expired or is unknown (send a new link).
            ValueError: a name is empty.
            ApiError: anything else; with ``maybe_applied`` when the answer was lost (a second
                call then vaults the card again under another shopper: harmless, no money).
        """
        return parse_card_on_file(vault_shopper(
            self.api, pf_token=pf_token, first_name=first_name, last_name=last_name, email=email,
            source="creditCardInfo", not_yet="the contact has not entered a card on the card-entry page yet",
            gone="the card-entry link expired or is unknown; send the contact a new one"))

    def get_vaulted_shopper(self, vaulted_shopper_id: str) -> CardOnFile:
        """The card BlueSnap holds for a vaulted shopper (type, holder name, last 4, expiry)."""
        return parse_card_on_file(self.api.get_json(f"/vaulted-shoppers/{quote(str(vaulted_shopper_id), safe='')}",
                                                    endpoint="/vaulted-shoppers/{id}"))

    # --- charges ----------------------------------------------------------------------

    def charge(
        self, *, vaulted_shopper_id: str, amount: Decimal, currency: str, merchant_transaction_id: str
    ) -> ChargeResult:
        """Charge the shopper's card once per ``merchant_transaction_id`` (AUTH_CAPTURE).

        The key is looked up first, so a charge that an earlier call or process already made
        is returned (``recovered=True``) instead of being sent again; when an answer is lost
        (timeout, reset, 5xx after sending) the key is looked up again before any re-send.

        Returns:
            ChargeApproved, or ChargeDeclined (soft: retry later; hard: ask for a new card).

        Raises:
            ValueError: bad amount, currency or key (nothing is sent).
            ApiError: authentication, validation and other failures; ``maybe_applied=True``
                when the gateway could still not be reached to settle whether it charged.
        """
        key = _check_key(merchant_transaction_id)
        amount_text = format_amount(amount, currency)
        currency = currency.strip().upper()
        body = {
            "cardTransactionType": "AUTH_CAPTURE",
            "amount": amount_text,
            "currency": currency,
            "vaultedShopperId": _shopper_id(vaulted_shopper_id),
            "merchantTransactionId": key,
        }
        existing = self.find_transaction(key)
        if existing is not None:
            return ChargeApproved(_same_charge(existing, body), recovered=True)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.api.request("POST", "/transactions", json=body, retry_writes=False)
            except ClientRequestError as exc:
                kind = decline_kind(exc.code)
                if kind is None:
                    raise
                return ChargeDeclined(key, str(exc.code), kind, exc.message)
            except ApiError as exc:
                if not exc.maybe_applied:
                    raise
                found = self.find_transaction(key)
                if found is not None:
                    return ChargeApproved(_same_charge(found, body), recovered=True)
                if attempt >= self._retry.max_attempts:
                    raise
                self._sleep(self._retry.backoff(attempt))
                continue
            return ChargeApproved(parse_transaction(response.json(parse_float=Decimal)))

    def find_transaction(self, merchant_transaction_id: str) -> Transaction | None:
        """The transaction sent with this key, or None when BlueSnap has none.

        BlueSnap retrieves by ``{merchantTransactionId},{merchantId}`` (path shape taken from a
        third-party SDK: unverified against BlueSnap's reference).
        """
        key = _check_key(merchant_transaction_id)
        path = f"/transactions/{quote(key, safe='')},{quote(self.settings.merchant_id, safe='')}"
        try:
            response = self.api.request("GET", path, endpoint="/transactions/{merchantTransactionId},{merchantId}")
        except NotFoundError:
            return None
        except ClientRequestError as exc:
            if exc.code in _NOT_FOUND_NAMES:
                return None
            raise
        return parse_transaction(response.json(parse_float=Decimal))

    def processing_fees(self, start: date, end: date) -> list[ProcessingFee]:
        """The processing fee of each transaction captured from ``start`` to ``end`` that BlueSnap's
        Payout Details report lists (:mod:`connectors.payments.fees`)."""
        return processing_fees(self.api, start, end)

    def get_transaction(self, transaction_id: str) -> Transaction:
        """A transaction by BlueSnap's id, with its refunds (``Transaction.refunds``)."""
        tid = _shopper_id(transaction_id)
        response = self.api.request("GET", f"/transactions/{quote(tid, safe='')}", endpoint="/transactions/{transactionId}")
        return parse_transaction(response.json(parse_float=Decimal))

    def refund(self, transaction_id: str, *, amount: Decimal | None = None, currency: str | None = None,
               reason: str | None = None, known_refunds: Collection[str] | None = None) -> RefundResult:
        """Refund a charge in full, or ``amount`` of it (``currency`` checks its decimals).

        With ``known_refunds`` (the refund ids the caller already holds for this charge) the refund
        is sent once: BlueSnap's refund takes no key of ours, so the charge's refunds are looked up
        first, and again after a lost answer, and a refund of this amount the caller does not know
        yet is taken as this one (``recovered=True``) instead of refunding twice. Without it, a lost
        answer is not re-sent (the error has ``maybe_applied=True``).

        Raises:
            ValueError: a bad amount or currency (nothing sent).
            ClientRequestError: BlueSnap refused it, e.g. ``REFUND_MAX_AMOUNT_FAILURE`` (more than is
                left to refund) or ``INVOICE_ALREADY_FULLY_REFUNDED``.
        """
        body: dict[str, Any] = {}
        if amount is not None:
            if currency is None:
                raise ValueError("a partial refund needs the charge's currency to check the amount")
            body["amount"] = format_amount(amount, currency)
        if reason:
            body["reason"] = reason
        tid = _shopper_id(transaction_id)

        def send() -> RefundResult:
            response = self.api.request("POST", f"/transactions/refund/{quote(tid, safe='')}", json=body,
                                        endpoint="/transactions/refund/{transactionId}", retry_writes=False)
            answer = response.json(parse_float=Decimal) if response.content else {}
            refund_id = answer.get("refundTransactionId") if isinstance(answer, dict) else None
            if refund_id in (None, ""):
                raise ApiError("BlueSnap accepted the refund without a refundTransactionId",
                               status_code=response.status_code, method="POST", path="/transactions/refund/{id}")
            refunded = answer.get("amount")
            return RefundResult(
                refund_transaction_id=str(refund_id), transaction_id=tid,
                amount=None if refunded in (None, "") else in_minor_units(parse_decimal(refunded, "amount"), currency),
                status=answer.get("refundStatus"))

        if known_refunds is None:
            return send()
        known = set(known_refunds)

        def existing() -> RefundResult | None:
            for found in self.get_transaction(tid).refunds:
                if found.refund_transaction_id not in known and (amount is None or found.amount == amount):
                    return replace(found, recovered=True)
            return None

        return send_once(send, existing)

    # --- IPN webhooks -----------------------------------------------------------------

    def verify_ipn(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        seen: ipn.SeenDeliveries,
        now: datetime | None = None,
        tolerance: timedelta = ipn.DEFAULT_TOLERANCE,
    ) -> ipn.IpnDelivery:
        """:func:`connectors.payments.ipn.verify_ipn` with this card's IPN secret."""
        return ipn.verify_ipn(body, headers, self._ipn_secret, seen=seen, now=now, tolerance=tolerance)

    # --- Test Connection --------------------------------------------------------------

    def test_connection(self) -> ConnectionReport:
        """Sign in (by asking for a card-entry token) and check the merchant ID, in plain words."""
        report = ConnectionReport()
        try:
            self.start_card_entry()
        except AuthenticationError:
            report.checks.append(Check("sign in", False, "BlueSnap refused the API username or password"))
            return report
        except PermissionDeniedError:
            report.checks.append(Check("sign in", False, "BlueSnap accepted the credentials but refused this "
                                       "API user (check its API permissions and IP allow-list in the console)"))
            return report
        except ApiError as exc:
            report.checks.append(Check("sign in", False, f"BlueSnap could not be reached at "
                                       f"{self.settings.environment_url}: {exc}"))
            return report
        report.checks.append(Check("sign in", True, "the API username and password work"))
        report.checks.append(Check("card entry", True, "BlueSnap issues card-entry tokens"))
        try:
            self.find_transaction(f"cashrail-test-{uuid.uuid4().hex[:12]}")
        except ApiError as exc:
            report.checks.append(Check("merchant ID", False, f"looking a charge up by its key failed with "
                                       f"merchant ID {self.settings.merchant_id!r}: {exc}"))
        else:
            report.checks.append(Check("merchant ID", True, "charges can be looked up by their key"))
        return report


def _check_key(merchant_transaction_id: str) -> str:
    key = (merchant_transaction_id or "").strip()
    if not key:
        raise ValueError("merchant_transaction_id is empty")
    if len(key) > MAX_MERCHANT_TRANSACTION_ID:
        raise ValueError(f"merchant_transaction_id is longer than {MAX_MERCHANT_TRANSACTION_ID} characters: {key!r}")
    return key


def _shopper_id(value: str) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("the id is empty")
    return text


def _same_charge(found: Transaction, body: Mapping[str, Any]) -> Transaction:
    """A transaction found by key must be this charge; a reused key is a bug worth stopping."""
    if (found.amount != Decimal(body["amount"]) or found.currency != body["currency"]
            or (found.vaulted_shopper_id is not None and found.vaulted_shopper_id != body["vaultedShopperId"])):
        raise ValueError(
            f"merchantTransactionId {body['merchantTransactionId']!r} already charged {found.amount} "
            f"{found.currency} to shopper {found.vaulted_shopper_id} (transaction {found.transaction_id}); "
            f"not charging {body['amount']} {body['currency']} to shopper {body['vaultedShopperId']} under it")
    return found
