"""The sandbox gateway's memory: card-entry tokens, shoppers, charges, ECP debits, refunds, IPN deliveries."""

from __future__ import annotations

import itertools
import queue
import random
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.payments.ipn import encode_ipn, sign_ipn


@dataclass
class Card:
    """A card as the hosted page captured it; the full number never leaves the sandbox."""

    number: str
    card_type: str
    holder_first: str
    holder_last: str
    exp_month: int
    exp_year: int

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def expired(self, today: datetime) -> bool:
        return (self.exp_year, self.exp_month) < (today.year, today.month)

    def as_json(self) -> dict[str, Any]:
        return {"cardLastFourDigits": self.last4, "cardType": self.card_type, "cardSubType": "CREDIT",
                "expirationMonth": f"{self.exp_month:02d}", "expirationYear": str(self.exp_year)}


@dataclass
class BankAccount:
    """A bank account as the hosted mandate page captured it; the full numbers never leave the sandbox."""

    routing_number: str
    account_number: str
    account_type: str
    holder_first: str
    holder_last: str
    consented_at: datetime

    @property
    def last4(self) -> str:
        return self.account_number[-4:]

    def as_json(self) -> dict[str, Any]:
        """BlueSnap shows only masked numbers of a vaulted account (its "public" numbers)."""
        return {"publicAccountNumber": "*****" + self.last4, "publicRoutingNumber": "*****" + self.routing_number[-4:],
                "accountType": self.account_type}


@dataclass
class PfToken:
    token: str
    created: float
    card: Card | None = None
    bank: BankAccount | None = None
    shoppers: list[int] = field(default_factory=list)


@dataclass
class Shopper:
    id: int
    first_name: str
    last_name: str
    email: str | None
    card: Card | None
    charges: int = 0  # charge attempts, for the "declines the first charge" test card
    bank: BankAccount | None = None
    debits: int = 0  # ECP debits, for the "returns the first debit" test account

    def as_json(self) -> dict[str, Any]:
        sources: dict[str, Any] = {}
        if self.card is not None:
            sources["creditCardInfo"] = [{
                "billingContactInfo": {"firstName": self.card.holder_first, "lastName": self.card.holder_last},
                "creditCard": self.card.as_json(),
            }]
        if self.bank is not None:
            sources["ecpDetails"] = [{
                "billingContactInfo": {"firstName": self.bank.holder_first, "lastName": self.bank.holder_last},
                "ecp": self.bank.as_json(),
            }]
        body: dict[str, Any] = {
            "vaultedShopperId": self.id, "firstName": self.first_name, "lastName": self.last_name,
            "paymentSources": sources,
        }
        if self.email:
            body["email"] = self.email
        return body


@dataclass
class Faults:
    rate_429: float = 0.0
    rate_503: float = 0.0
    retry_after: int = 1
    #: statuses the next API requests get, in order (429 or 503), before the rates apply
    next_statuses: deque[int] = field(default_factory=deque)
    #: how long the "time out after charging" card makes the caller wait for its answer
    slow_response_seconds: float = 10.0
    #: a refused sign-in repeats the credentials it was sent (as some proxies do): the hub must scrub them
    echo_credentials: bool = False
    #: what the next refunds do after applying: "timeout" (answer after slow_response_seconds) or "drop"
    next_refund_faults: deque[str] = field(default_factory=deque)
    seed: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(1))

    def as_dict(self) -> dict[str, Any]:
        return {"rate_429": self.rate_429, "rate_503": self.rate_503, "retry_after": self.retry_after,
                "next_statuses": list(self.next_statuses), "slow_response_seconds": self.slow_response_seconds,
                "echo_credentials": self.echo_credentials, "next_refund_faults": list(self.next_refund_faults),
                "seed": self.seed}


@dataclass
class IpnConfig:
    url: str | None = None
    secret: SecretStr = field(default_factory=lambda: SecretStr("sandbox-ipn-secret"))
    retry_seconds: float = 1.0
    max_retries: int = 11  # BlueSnap retries a delivery up to 11 times
    #: test controls: send the next N deliveries twice, never send the next N, or hold deliveries
    #: until released (in any order, e.g. reversed)
    duplicate_next: int = 0
    drop_next: int = 0
    hold: bool = False
    #: BlueSnap's on-demand IPN types this merchant enabled (off until asked for, as in the console);
    #: the sandbox knows PAYMENT_UPDATED: a payment method entered on the hosted page
    on_demand: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "retry_seconds": self.retry_seconds, "max_retries": self.max_retries,
                "duplicate_next": self.duplicate_next, "drop_next": self.drop_next, "hold": self.hold,
                "on_demand": sorted(self.on_demand)}


class GatewayState:
    """Everything one sandbox gateway holds; handlers take ``lock`` around changes."""

    def __init__(self, *, username: str, password: str, merchant_id: str, token_ttl: float = 3600.0,
                 ipn_url: str | None = None, ipn_secret: str = "sandbox-ipn-secret") -> None:
        self.username, self.password, self.merchant_id = username, password, merchant_id
        self.token_ttl = token_ttl
        self.lock = threading.RLock()
        self.tokens: dict[str, PfToken] = {}
        self.shoppers: dict[int, Shopper] = {}
        self.transactions: list[dict[str, Any]] = []
        self.declines: list[dict[str, Any]] = []
        self.refunds: list[dict[str, Any]] = []
        #: ECP (ACH) debits: BlueSnap's alt-transactions, each with its settlement day and outcome
        self.ecp: list[dict[str, Any]] = []
        #: how long an ECP debit stays PENDING before a retrieve shows it settled (or returned)
        self.ecp_settle_seconds = 0.0
        self.chargebacks: list[dict[str, Any]] = []
        #: the processing fee the Payout Details report states per card charge: percent of it plus a fixed part
        self.fee_percent, self.fee_fixed = Decimal("2.9"), Decimal("0.30")
        self.faults = Faults()
        self.ipn = IpnConfig(url=ipn_url, secret=SecretStr(ipn_secret))
        self.deliveries: list[dict[str, Any]] = []
        self.requests = 0
        self.by_path: Counter[str] = Counter()
        self.fault_counts: Counter[str] = Counter()
        self.api_versions: Counter[str] = Counter()
        self._shopper_ids = itertools.count(19_000_001)
        self._transaction_ids = itertools.count(1_012_000_001)
        self._outbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._sender: threading.Thread | None = None

    # --- tokens and shoppers ---------------------------------------------------------

    def new_token(self) -> str:
        with self.lock:
            token = secrets.token_hex(24) + "_"  # the shape of BlueSnap's pfTokens: long, opaque
            self.tokens[token] = PfToken(token, time.time())
            return token

    def token(self, token: str) -> PfToken | None:
        return self.tokens.get(token)

    def token_expired(self, entry: PfToken) -> bool:
        return time.time() - entry.created > self.token_ttl

    def add_shopper(self, first: str, last: str, email: str | None, card: Card | None,
                    bank: BankAccount | None = None) -> Shopper:
        with self.lock:
            shopper = Shopper(next(self._shopper_ids), first, last, email, card, bank=bank)
            self.shoppers[shopper.id] = shopper
            return shopper

    def next_transaction_id(self) -> str:
        with self.lock:
            return str(next(self._transaction_ids))

    # --- lookups ---------------------------------------------------------------------

    def find_charge(self, transaction_id: str) -> dict[str, Any] | None:
        return next((t for t in self.transactions if t["transactionId"] == transaction_id), None)

    def find_by_merchant_id(self, merchant_transaction_id: str) -> dict[str, Any] | None:
        return next((t for t in self.transactions if t.get("merchantTransactionId") == merchant_transaction_id), None)

    def refunded(self, transaction_id: str) -> Decimal:
        return sum((Decimal(str(r["amount"])) for r in self.refunds if r["transactionId"] == transaction_id),
                   Decimal(0))

    def refundable(self, transaction_id: str) -> Decimal:
        """What may still be refunded (or charged back) of a charge."""
        charge = self.find_charge(transaction_id)
        if charge is None:
            return Decimal(0)
        disputed = sum((Decimal(str(c["amount"])) for c in self.chargebacks if c["transactionId"] == transaction_id),
                       Decimal(0))
        return Decimal(str(charge["amount"])) - self.refunded(transaction_id) - disputed

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {
                "tokens": len(self.tokens),
                "cards_entered": sum(1 for t in self.tokens.values() if t.card is not None),
                "shoppers": len(self.shoppers),
                "charges": len(self.transactions),
                "declines": len(self.declines),
                "refunds": len(self.refunds),
                "ecp_debits": len(self.ecp),
                "ecp_returned": sum(1 for t in self.ecp if t["processingInfo"]["processingStatus"] == "RETURNED"),
                "chargebacks": len(self.chargebacks),
                "ipn_delivered": sum(1 for d in self.deliveries if d["status"] == "delivered"),
                "ipn_failed": sum(1 for d in self.deliveries if d["status"] == "failed"),
                "ipn_pending": sum(1 for d in self.deliveries if d["status"] == "pending"),
                "ipn_held": sum(1 for d in self.deliveries if d["status"] == "held"),
            }

    # --- IPN deliveries --------------------------------------------------------------

    def payment_entered(self, token: PfToken) -> None:
        """The contact saved a card or a bank account on the hosted page: a PAYMENT_UPDATED IPN when
        the merchant enabled it. BlueSnap documents the type ("a successful update to a payment
        method") but not its fields for a hosted page; the sandbox names the page's token in
        ``referenceNumber``, and the receiver confirms through the API before it records anything."""
        if "PAYMENT_UPDATED" not in self.ipn.on_demand:
            return
        fields = {"transactionType": "PAYMENT_UPDATED", "referenceNumber": token.token}
        if token.card is not None:
            fields |= {"paymentMethod": "CC", "creditCardType": token.card.card_type,
                       "creditCardLastFourDigits": token.card.last4}
        elif token.bank is not None:
            fields |= {"paymentMethod": "ECP", "publicAccountNumber": "*****" + token.bank.last4}
        self.send_ipn(fields)

    def send_ipn(self, fields: dict[str, str]) -> None:
        """Queue a signed IPN for the configured URL (a delivery row is kept either way); the test
        controls may drop it, send it twice, or hold it until :meth:`release_ipns`."""
        with self.lock:
            copies = 1
            if self.ipn.drop_next > 0:
                self.ipn.drop_next -= 1
                copies = 0
            elif self.ipn.duplicate_next > 0:
                self.ipn.duplicate_next -= 1
                copies = 2
            status = "dropped" if copies == 0 else "held" if self.ipn.hold else "pending"
            for _ in range(max(copies, 1)):
                self.deliveries.append({"id": len(self.deliveries) + 1, "transactionType": fields["transactionType"],
                                        "referenceNumber": fields["referenceNumber"], "fields": fields,
                                        "status": status, "attempts": 0, "responses": []})
                if status == "pending":
                    self._queue(self.deliveries[-1])

    def release_ipns(self, *, reverse: bool = False) -> int:
        """Send the held deliveries (in the order held, or reversed) and stop holding; how many."""
        with self.lock:
            self.ipn.hold = False
            held = [d for d in self.deliveries if d["status"] == "held"]
            for row in reversed(held) if reverse else held:
                row["status"] = "pending"
                self._queue(row)
            return len(held)

    def _queue(self, row: dict[str, Any]) -> None:
        if self._sender is None:
            self._sender = threading.Thread(target=self._deliver_forever, name="bluesnap-ipn", daemon=True)
            self._sender.start()
        self._outbox.put(row)

    def _deliver_forever(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while True:
                item: Any = self._outbox.get()
                if item is None:
                    return
                self._deliver(client, item)

    def _deliver(self, client: httpx.Client, row: dict[str, Any]) -> None:
        body = encode_ipn(row["fields"])
        for attempt in range(1 + self.ipn.max_retries):
            url = self.ipn.url
            if not url:
                row.update(status="failed", error="no IPN URL is set (PUT /_admin/ipn)")
                return
            row["attempts"] = attempt + 1
            try:
                answer = client.post(url, content=body, headers=sign_ipn(body, self.ipn.secret))
                row["responses"].append(answer.status_code)
                if answer.status_code == 200:
                    row["status"] = "delivered"
                    return
            except httpx.HTTPError as exc:
                row["responses"].append(type(exc).__name__)
            time.sleep(self.ipn.retry_seconds)
        row["status"] = "failed"

    def close(self) -> None:
        """Stop the IPN sender (pending deliveries are dropped)."""
        with self.lock:
            sender, self._sender = self._sender, None
        if sender is not None:
            self._outbox.put(None)
            sender.join(timeout=10)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
