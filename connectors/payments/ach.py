"""ACH direct debit through BlueSnap (ECP): the mandate page, bank accounts on file, debits and returns.

A contact authorises the debit on a hosted mandate page (the bank details stay at the gateway:
the hub sees the account type and the last 4 digits); the vaulted shopper then carries the
account in ``paymentSources.ecpDetails``. A debit is ``POST /alt-transactions`` with an
``ecpTransaction`` naming the vaulted account and ``authorizedByShopper: true``; it answers
``PENDING``. The bank settles it days later, or returns it with a NACHA return code, also after
it settled: :meth:`EcpPayments.find_debit` reads where a debit stands. The debit is keyed by
``merchantTransactionId`` like a card charge and never re-sent blind.

Unverified against BlueSnap's reference: the mandate page (BlueSnap's Hosted Payment Fields take
cards; a page of your own collects the account: set ``bank_form_url``), ``ecpDetails[].pfToken``,
retrieving a debit by ``{merchantTransactionId},{merchantId}``, and where a retrieve carries the
return (``processingInfo.returnCode``/``returnReason``/``returnDate``, status ``RETURNED``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from connectors.http import ApiClient, ApiError, ClientRequestError, NotFoundError, get_ci, send_once
from connectors.payments.models import (
    CardEntry,
    ChargeApproved,
    ChargeDeclined,
    ChargeResult,
    DeclineKind,
    Transaction,
    decline_kind,
    format_amount,
    in_minor_units,
    parse_decimal,
)
from connectors.payments.settings import BlueSnapSettings
from connectors.payments.vault import vault_shopper

#: where the bundled sandbox serves the mandate page
DEFAULT_BANK_FORM_PATH = "/hosted/bank-form/{pf_token}"
#: the card transaction type the hub's Transaction carries for an ECP debit
ECP = "ECP"

#: NACHA return codes a retry can fix (the money may be there next time); every other code is
#: final for the mandate: the account is closed, unknown, invalid, or the debit not authorised
SOFT_RETURNS: frozenset[str] = frozenset({"R01", "R09"})


def return_kind(code: str) -> DeclineKind:
    """SOFT for a return a later debit may clear (R01 insufficient, R09 uncollected funds), else HARD."""
    return DeclineKind.SOFT if code.strip().upper() in SOFT_RETURNS else DeclineKind.HARD


class DebitStatus(StrEnum):
    PENDING = "PENDING"  # sent to the bank, not settled yet
    SUCCESS = "SUCCESS"  # settled (a return may still come)
    RETURNED = "RETURNED"  # the bank returned it, with a NACHA code


@dataclass(frozen=True)
class BankAccountOnFile:
    """A vaulted shopper and the bank account BlueSnap holds for them (masked numbers only)."""

    vaulted_shopper_id: str
    holder_name: str
    account_type: str
    last4: str
    public_account_number: str
    public_routing_number: str
    email: str | None = None


@dataclass(frozen=True)
class Debit:
    """Where an ECP debit stands at the gateway."""

    transaction_id: str
    merchant_transaction_id: str | None
    amount: Decimal
    currency: str
    status: DebitStatus
    return_code: str | None = None
    return_reason: str | None = None

    @property
    def return_kind(self) -> DeclineKind | None:
        return return_kind(self.return_code) if self.return_code else None


def parse_bank_account(body: Any) -> BankAccountOnFile:
    """A vaulted shopper body -> its first bank account."""
    if not isinstance(body, dict):
        raise ValueError("BlueSnap answered a vaulted shopper without a JSON object")
    details = get_ci(get_ci(body, "paymentSources") or {}, "ecpDetails") or []
    if not details:
        raise ValueError(f"vaulted shopper {get_ci(body, 'vaultedShopperId')} holds no bank account")
    ecp = get_ci(details[0], "ecp") or {}
    contact = get_ci(details[0], "billingContactInfo") or {}
    first = get_ci(contact, "firstName") or get_ci(body, "firstName") or ""
    last = get_ci(contact, "lastName") or get_ci(body, "lastName") or ""
    account = str(get_ci(ecp, "publicAccountNumber") or "")
    return BankAccountOnFile(
        vaulted_shopper_id=str(get_ci(body, "vaultedShopperId")),
        holder_name=" ".join(p for p in (str(first).strip(), str(last).strip()) if p),
        account_type=str(get_ci(ecp, "accountType") or ""), last4=account[-4:], public_account_number=account,
        public_routing_number=str(get_ci(ecp, "publicRoutingNumber") or ""), email=get_ci(body, "email"))


def parse_debit(body: Any) -> Debit:
    """An alt-transaction body (create or retrieve) -> Debit."""
    if not isinstance(body, dict) or get_ci(body, "transactionId") in (None, ""):
        raise ValueError("BlueSnap answered an ECP transaction without a transactionId")
    info = get_ci(body, "processingInfo") or {}
    currency = str(get_ci(body, "currency") or "").upper()
    try:
        status = DebitStatus(str(get_ci(info, "processingStatus") or "").upper())
    except ValueError:
        raise ValueError(f"BlueSnap answered an ECP transaction in an unknown state: {info!r}") from None
    code = get_ci(info, "returnCode")
    return Debit(transaction_id=str(get_ci(body, "transactionId")),
                 merchant_transaction_id=get_ci(body, "merchantTransactionId"),
                 amount=in_minor_units(parse_decimal(get_ci(body, "amount"), "amount"), currency), currency=currency,
                 status=status, return_code=str(code).upper() if code else None,
                 return_reason=get_ci(info, "returnReason"))


def _as_transaction(debit: Debit, shopper: str) -> Transaction:
    return Transaction(transaction_id=debit.transaction_id, merchant_transaction_id=debit.merchant_transaction_id,
                       amount=debit.amount, currency=debit.currency, vaulted_shopper_id=shopper,
                       card_transaction_type=ECP, processing_status=debit.status.value)


class EcpPayments:
    """ACH (ECP) calls of the BlueSnap connector (mixed into it)."""

    api: ApiClient
    settings: BlueSnapSettings

    def start_card_entry(self) -> CardEntry:  # provided by the connector
        raise NotImplementedError

    def bank_form_url(self, pf_token: str) -> str:
        """The mandate page a contact opens to authorise debits of a bank account for ``pf_token``."""
        template = self.settings.bank_form_url or (self.settings.environment_url + DEFAULT_BANK_FORM_PATH)
        return template.replace("{pf_token}", quote(pf_token, safe=""))

    def start_bank_entry(self) -> CardEntry:
        """A token and the mandate page to send the contact (the token is the card entry's kind)."""
        entry = self.start_card_entry()
        return CardEntry(pf_token=entry.pf_token, page_url=self.bank_form_url(entry.pf_token))

    def create_bank_shopper(self, *, pf_token: str, first_name: str, last_name: str,
                            email: str | None = None) -> BankAccountOnFile:
        """Vault the bank account the contact authorised for ``pf_token`` under a new shopper.

        Raises:
            CardEntryIncomplete: the contact has not submitted the mandate page yet.
            CardEntryExpired: the token expired or is unknown (send a new link).
        """
        return parse_bank_account(vault_shopper(
            self.api, pf_token=pf_token, first_name=first_name, last_name=last_name, email=email,
            source="ecpDetails", not_yet="the contact has not authorised the direct debit on the page yet",
            gone="the direct-debit link expired or is unknown; send the contact a new one"))

    def get_bank_shopper(self, vaulted_shopper_id: str) -> BankAccountOnFile:
        return parse_bank_account(self.api.get_json(f"/vaulted-shoppers/{quote(str(vaulted_shopper_id), safe='')}",
                                                    endpoint="/vaulted-shoppers/{id}"))

    def debit(self, *, vaulted_shopper_id: str, amount: Decimal, currency: str,
              merchant_transaction_id: str) -> ChargeResult:
        """Debit the shopper's bank account once per ``merchant_transaction_id``.

        Returns ChargeApproved (its transaction PENDING: the bank may still return it) or
        ChargeDeclined when BlueSnap refuses the debit outright. The key is looked up first and
        after any lost answer, never re-sent blind.
        """
        key = (merchant_transaction_id or "").strip()
        if not key or len(key) > 50:
            raise ValueError(f"merchant_transaction_id must be 1 to 50 characters, not {merchant_transaction_id!r}")
        amount_text = format_amount(amount, currency)
        account = self.get_bank_shopper(vaulted_shopper_id)
        body = {"amount": amount_text, "currency": currency.strip().upper(), "vaultedShopperId": vaulted_shopper_id,
                "merchantTransactionId": key, "authorizedByShopper": True,
                "ecpTransaction": {"publicAccountNumber": account.public_account_number,
                                   "publicRoutingNumber": account.public_routing_number,
                                   "accountType": account.account_type}}

        def existing() -> ChargeResult | None:
            found = self.find_debit(key)
            if found is None:
                return None
            if found.amount != Decimal(amount_text) or found.currency != body["currency"]:
                raise ValueError(f"merchantTransactionId {key!r} already debited {found.amount} {found.currency} "
                                 f"(transaction {found.transaction_id}); not debiting {amount_text} under it")
            return ChargeApproved(_as_transaction(found, vaulted_shopper_id), recovered=True)

        def send() -> ChargeResult:
            try:
                response = self.api.request("POST", "/alt-transactions", json=body, retry_writes=False)
            except ClientRequestError as exc:
                kind = decline_kind(exc.code)
                if kind is None:
                    raise
                return ChargeDeclined(key, str(exc.code), kind, exc.message)
            return ChargeApproved(_as_transaction(parse_debit(response.json(parse_float=Decimal)), vaulted_shopper_id))

        return send_once(send, existing)

    def find_debit(self, merchant_transaction_id: str) -> Debit | None:
        """Where the debit sent with this key stands, or None when BlueSnap has none."""
        key = quote(merchant_transaction_id.strip(), safe="")
        path = f"/alt-transactions/{key},{quote(self.settings.merchant_id, safe='')}"
        try:
            response = self.api.request("GET", path, endpoint="/alt-transactions/{merchantTransactionId},{merchantId}")
        except NotFoundError:
            return None
        except ApiError as exc:
            if isinstance(exc, ClientRequestError) and exc.code == "TRANSACTION_NOT_FOUND":
                return None
            raise
        return parse_debit(response.json(parse_float=Decimal))
