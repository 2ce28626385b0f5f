"""What a customer does on the portal: pay open invoices (with the card on file or a new one
entered on the gateway's own page: card data never reaches Cashrail), pay part of an invoice
where the firm allows it, replace or remove the card, switch autopay; and ask for and enter the
one-time code when the firm requires one.

Each action first checks that every id belongs to the customer the link names (else it is
answered as "not found"), then goes through the same services as the admin pages: the charge,
its receipt e-mail (the outbox's payment_succeeded), the recording in the source system.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from sqlmodel import Session, col, select

from connectors.payments import BlueSnapConnector
from hub.collections import collect, notifications, payments
from hub.collections.chargeable import ChargeRow
from hub.collections.outbox import enqueue
from hub.collections.portal import CodeContact, Customer, PortalNotFound, code_contacts, customer, owned_invoice_ids
from hub.collections.rules import Notification, NotificationType
from hub.collections.rules.errors import CollectError
from hub.platform.db import session
from hub.platform.models import CardRequest, PaymentMethod
from hub.portal import codes
from hub.portal.settings import get_settings as portal_settings

log = logging.getLogger(__name__)


def actor_of(organisation_id: int) -> str:
    """Who the audit log names for what a customer did on the portal."""
    return f"portal:customer {organisation_id}"


def payer_side(s: Session, c: Customer) -> int:
    """The organisation whose card pays the customer's invoices: the side holding a card or
    mandate (the customer's own first), else the customer's own organisation."""
    for side in c.side_ids:
        method = payments.active_method(s, side)
        if method is not None and method.kind != "none":
            return side
    return c.id


def pay(environment: str, organisation_id: int, invoice_ids: list[int], *,
        amounts: Mapping[int, Decimal] | None = None, today: date | None = None,
        gateway: BlueSnapConnector | None = None) -> list[ChargeRow]:
    """Charge the customer's selected invoices with the card on file, as one payment per card,
    currency and source system; ``amounts`` pays part of some of them where the firm allows it.

    Raises:
        PortalNotFound: an id is not one of the customer's invoices (nothing is charged).
        CollectError: nothing selected, or a part payment the firm does not take.
    """
    if not invoice_ids:
        raise CollectError("invoices: select at least one invoice to pay")
    with session(environment) as s:
        ids = owned_invoice_ids(s, customer(s, organisation_id), invoice_ids)
        parts = {i: a for i, a in (amounts or {}).items() if i in ids}
        if parts and not portal_settings(s).partial_payments:
            raise CollectError("amount: invoices are paid in full here; leave the amount as it is")
    return collect.pay(environment, ids, actor=actor_of(organisation_id), today=today, gateway=gateway,
                       one_payment=True, amounts=parts or None)


def start_card(environment: str, organisation_id: int, *, gateway: BlueSnapConnector | None = None) -> CardRequest:
    """Open the gateway's card-entry page for the customer (no e-mail: they are at the screen)."""
    with session(environment) as s:
        side = payer_side(s, customer(s, organisation_id))
    return payments.open_card_entry(environment, side, actor=actor_of(organisation_id), gateway=gateway)


def card_request(s: Session, c: Customer, request_id: int) -> CardRequest:
    """The customer's card request ``request_id`` (another customer's is not found)."""
    found = s.exec(select(CardRequest).where(col(CardRequest.id) == request_id,
                                             col(CardRequest.organisation_id).in_(c.side_ids))).one_or_none()
    if found is None:
        raise PortalNotFound(f"card: no card entry {request_id} of yours; start again from your invoices")
    return found


def finish_card(environment: str, organisation_id: int, request_id: int, *,
                gateway: BlueSnapConnector | None = None) -> PaymentMethod:
    """Vault the card entered on the gateway's page; it becomes the card on file.

    Raises:
        PaymentMethodError: the card was not entered yet, or the page expired.
    """
    with session(environment) as s:
        card_request(s, customer(s, organisation_id), request_id)
    return payments.complete_card_request(environment, request_id, actor=actor_of(organisation_id),
                                          gateway=gateway)


def set_autopay(environment: str, organisation_id: int, on: bool) -> PaymentMethod:
    """Switch autopay: on, every invoice is charged on its due date (seed 001)."""
    with session(environment) as s:
        side = payer_side(s, customer(s, organisation_id))
        return payments.set_autopay(s, side, on, actor=actor_of(organisation_id))


def remove_card(environment: str, organisation_id: int) -> PaymentMethod:
    """Remove the card or mandate on file (autopay stops with it)."""
    with session(environment) as s:
        side = payer_side(s, customer(s, organisation_id))
        return payments.remove_method(s, side, actor=actor_of(organisation_id))


def send_code(environment: str, organisation_id: int, contact_id: int) -> CodeContact:
    """E-mail a one-time code to one of the customer's contacts (through the outbox, delivered at
    once when the mail server answers, else by the next delivery run); the contact, half hidden.

    Raises:
        PortalNotFound: not a contact of this customer. CodeThrottled: too many codes lately.
    """
    with session(environment) as s:
        c = customer(s, organisation_id)
        contact = next((p for p in code_contacts(s, c) if p.id == contact_id), None)
        if contact is None:
            raise PortalNotFound(f"contact: no contact {contact_id} of yours with an e-mail address")
        row_id, code = codes.new_code(s, organisation_id, contact_id)
        enqueue(s, Notification(type=NotificationType.PORTAL_CODE, key=f"portal-code/{row_id}",
                                customer_name=c.organisation.name, contact_id=contact_id, portal_code=code),
                organisation_id=organisation_id)
    try:  # the visitor is waiting for it: deliver now rather than on the next scheduled run
        notifications.deliver(environment)
    except Exception:
        log.warning("the portal code for organisation %s waits for the next delivery run", organisation_id)
    return contact


def enter_code(environment: str, organisation_id: int, code: str) -> None:
    """Accept the code (once). A wrong code is counted even though it raises.

    Raises:
        CodeError: wrong, used, expired or none waiting.
    """
    refused: codes.CodeError | None = None
    with session(environment) as s:
        try:
            codes.check_code(s, organisation_id, code)
        except codes.CodeError as exc:
            refused = exc  # commit the attempt first
    if refused is not None:
        raise refused
