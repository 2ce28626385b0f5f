"""BlueSnap-shaped payment gateway: the connector kind ``bluesnap`` and its IPN webhooks.

Public API (everything else is internal)::

    from connectors.payments import BlueSnapConnector, BlueSnapSettings, BlueSnapSecrets

    gw = BlueSnapConnector(BlueSnapSettings(environment_url=..., username=..., merchant_id=...),
                           BlueSnapSecrets(password=SecretStr(...), ipn_secret=SecretStr(...)))
    # or, from a connector card: hub.sync.cards.instantiate(card)

    entry = gw.start_card_entry()                 # CardEntry(pf_token, page_url): send page_url to the contact
    card = gw.create_vaulted_shopper(pf_token=entry.pf_token, first_name="Ada", last_name="Lovelace",
                                     email="ada@example.com")
    #   -> CardOnFile(vaulted_shopper_id, card_type, holder_name, last4, expiry_month, expiry_year, email)
    #   raises CardEntryIncomplete until the contact has submitted the page; CardEntryExpired: new link
    card = gw.get_vaulted_shopper(card.vaulted_shopper_id)

    result = gw.charge(vaulted_shopper_id=card.vaulted_shopper_id, amount=Decimal("100.00"),
                       currency="USD", merchant_transaction_id="inv-42-attempt-1")
    #   -> ChargeApproved(transaction, recovered) | ChargeDeclined(merchant_transaction_id,
    #      error_name, kind=DeclineKind.SOFT|HARD, description); .retry_allowed / .needs_new_card
    #   Once per key: the key is looked up before sending and again after a lost answer.
    gw.find_transaction("inv-42-attempt-1")      # -> Transaction | None

    # ACH direct debit (connectors.payments.ach): the mandate page, the account on file, debits
    entry = gw.start_bank_entry()                 # CardEntry(pf_token, page_url of the mandate page)
    account = gw.create_bank_shopper(pf_token=entry.pf_token, first_name="Ada", last_name="Lovelace")
    #   -> BankAccountOnFile(vaulted_shopper_id, holder_name, account_type, last4, ...)
    gw.debit(vaulted_shopper_id=..., amount=..., currency="USD", merchant_transaction_id=...)
    #   -> ChargeApproved (transaction PENDING) | ChargeDeclined; once per key like charge()
    gw.find_debit("inv-42-attempt-1")            # -> Debit(status PENDING|SUCCESS|RETURNED, return_code) | None
    gw.refund(transaction_id, amount=None | Decimal, currency=..., reason=...)   # -> RefundResult

    delivery = gw.verify_ipn(body, headers, seen=lambda delivery_id: ...)       # -> IpnDelivery
    #   (same as connectors.payments.ipn.verify_ipn with the card's IPN secret)
    gw.test_connection()                         # Test Connection, in plain words

Errors: ``ValueError`` for bad input (nothing sent); otherwise the ``connectors.http`` errors
(``AuthenticationError``, ``ClientRequestError`` naming BlueSnap's errorName, ``ServerError``,
``TransportError`` ...), whose ``maybe_applied`` says a write may have happened. Money is
``Decimal`` with no more decimals than the currency's minor unit; it is never rounded here.
"""

from connectors.payments.ach import SOFT_RETURNS, BankAccountOnFile, Debit, DebitStatus, return_kind
from connectors.payments.client import BlueSnapConnector, BlueSnapSecrets, BlueSnapSettings
from connectors.payments.ipn import (
    IpnBadSignature,
    IpnDelivery,
    IpnEvent,
    IpnEventType,
    IpnMalformed,
    IpnRejected,
    IpnStale,
    IpnUnsigned,
    SeenDeliveries,
    sign_ipn,
    verify_ipn,
)
from connectors.payments.models import (
    HARD_DECLINES,
    SOFT_DECLINES,
    CardEntry,
    CardEntryExpired,
    CardEntryIncomplete,
    CardOnFile,
    ChargeApproved,
    ChargeDeclined,
    ChargeResult,
    DeclineKind,
    RefundResult,
    Transaction,
    decline_kind,
)

__all__ = [
    "HARD_DECLINES", "SOFT_DECLINES", "SOFT_RETURNS", "BankAccountOnFile", "BlueSnapConnector", "BlueSnapSecrets", "BlueSnapSettings", "CardEntry",
    "CardEntryExpired", "CardEntryIncomplete", "CardOnFile", "ChargeApproved", "ChargeDeclined", "ChargeResult",
    "Debit", "DebitStatus", "DeclineKind", "IpnBadSignature", "IpnDelivery", "IpnEvent", "IpnEventType", "IpnMalformed", "IpnRejected",
    "IpnStale", "IpnUnsigned", "RefundResult", "SeenDeliveries", "Transaction", "decline_kind", "return_kind",
    "sign_ipn", "verify_ipn",
]
