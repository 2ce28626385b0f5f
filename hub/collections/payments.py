"""Payment methods (seed 000's "Payment Method" panel): cards captured through the gateway's
card-entry page, direct-debit mandates, or none; one active method per organisation.

A card is captured in two steps: :func:`send_card_form` asks the gateway for a card-entry
page and keeps its link for the chosen contact (a ``CardRequest``); once the contact has
entered the card, :func:`complete_card_request` vaults it and stores the card type, holder,
last 4 digits and expiry. A direct-debit mandate comes the same way (``method="bank_account"``:
the gateway's ACH mandate page, where the contact enters the account and accepts the debit
authorisation); completing it stores the mandate reference and date, the account type and its
last 4 digits — the account numbers stay at the gateway. Every change is audited and tells the
customer through the notification outbox, in the same transaction.

:func:`payer` is the one place that says which organisation pays an invoice and how.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from connectors.http import ApiError
from connectors.payments import BankAccountOnFile, BlueSnapConnector, CardEntryExpired, CardEntryIncomplete, CardOnFile
from connectors.registry import kinds_with_role
from hub.collections.outbox import enqueue
from hub.collections.rules import Notification, NotificationType, PaymentMethodKind
from hub.platform import audit
from hub.platform.db import session
from hub.platform.errors import InputError
from hub.platform.models import CardRequest, Connector, Contact, Invoice, Organisation, PaymentMethod, stored_id
from hub.platform.types import utcnow
from hub.sync import cards
from hub.sync.customers import linked_organisation_id


class PaymentMethodError(InputError):
    """A payment-method request that cannot be honoured, naming the field."""


#: what a form sent to a contact captures: a card, or a bank account under a direct-debit mandate
FORM_METHODS = ("card", "bank_account")


@dataclass(frozen=True)
class Payer:
    """Who pays an invoice: the organisation holding the payment method, and the method."""

    organisation: Organisation
    method: PaymentMethod | None


# --- lookups --------------------------------------------------------------------------------


def organisation(s: Session, organisation_id: int) -> Organisation:
    org = s.exec(select(Organisation).where(col(Organisation.id) == organisation_id)).one_or_none()
    if org is None or org.is_deleted:
        raise PaymentMethodError(f"organisation: no organisation {organisation_id} in {s.info['environment']}")
    return org


def active_method(s: Session, organisation_id: int) -> PaymentMethod | None:
    return s.exec(select(PaymentMethod).where(
        col(PaymentMethod.organisation_id) == organisation_id, col(PaymentMethod.status) == "active")).one_or_none()


def invoice_organisation(s: Session, invoice: Invoice) -> Organisation | None:
    """The organisation the invoice's source system bills."""
    if invoice.organisation_external_id is None:
        return None
    return s.exec(select(Organisation).where(
        col(Organisation.connector_id) == invoice.connector_id,
        col(Organisation.external_id) == invoice.organisation_external_id)).one_or_none()


def payer(s: Session, invoice: Invoice) -> Payer | None:
    """Who pays ``invoice``: its own organisation when that has an active payment method, else
    the organisation linked to it when that one has; otherwise its own organisation, without a
    method. None when the invoice names no organisation the hub knows."""
    own = invoice_organisation(s, invoice)
    if own is None:
        return None
    method = active_method(s, stored_id(own))
    if method is None:
        linked_id = linked_organisation_id(s, stored_id(own))
        linked = active_method(s, linked_id) if linked_id is not None else None
        if linked is not None:
            return Payer(organisation(s, linked.organisation_id), linked)
    return Payer(own, method)


def gateway_card(s: Session) -> Connector:
    """The environment's payment gateway card (an active one first)."""
    found = s.exec(select(Connector).where(col(Connector.kind).in_(kinds_with_role("gateway")), col(Connector.status) != "deactivated")
                   .order_by((col(Connector.status) != "active"), col(Connector.id))).first()
    if found is None:
        raise PaymentMethodError(f"gateway: no payment gateway connector in {s.info['environment']}; add one first "
                                 "(cashrail connectors add)")
    return found


def open_gateway(environment: str) -> BlueSnapConnector:
    """A live connector for the environment's gateway card (close it when done)."""
    with session(environment) as s:
        gateway = cards.instantiate(gateway_card(s))
        if not isinstance(gateway, BlueSnapConnector):  # the one gateway the collections speak today
            raise PaymentMethodError(f"gateway: the {gateway_card(s).kind} connector cannot charge cards yet")
        return gateway


def list_methods(s: Session, organisation_id: int | None = None, *, include_removed: bool = False) -> list[PaymentMethod]:
    query = select(PaymentMethod).order_by(col(PaymentMethod.organisation_id), col(PaymentMethod.id))
    if organisation_id is not None:
        query = query.where(col(PaymentMethod.organisation_id) == organisation_id)
    if not include_removed:
        query = query.where(col(PaymentMethod.status) == "active")
    return list(s.exec(query))


def describe(method: PaymentMethod | None) -> str:
    """A method in words: "VISA ending 1111 (12/2030)", "direct debit MANDATE-1 (account ...6789)", "none"."""
    if method is None or method.kind == PaymentMethodKind.NONE:
        return "none"
    if method.kind == PaymentMethodKind.CARD:
        return f"{method.card_brand} ending {method.card_last4} ({method.card_exp_month:02d}/{method.card_exp_year})"
    return f"direct debit {method.mandate_reference} (account ...{method.account_last4})"


# --- card capture ---------------------------------------------------------------------------


def _contact(s: Session, org: Organisation, contact_id: int) -> Contact:
    contact = s.exec(select(Contact).where(col(Contact.id) == contact_id)).one_or_none()
    own = {org.id, linked_organisation_id(s, stored_id(org))}
    if contact is None or contact.is_deleted:
        raise PaymentMethodError(f"contact: no contact {contact_id} in {s.info['environment']}")
    owner = s.exec(select(Organisation.id).where(
        col(Organisation.connector_id) == contact.connector_id,
        col(Organisation.external_id) == contact.organisation_external_id)).one_or_none()
    if owner not in own:
        raise PaymentMethodError(f"contact: contact {contact_id} is not a contact of {org.name}")
    return contact


def send_card_form(environment: str, organisation_id: int, contact_id: int, *, actor: str | None = None,
                   gateway: BlueSnapConnector | None = None, method: str = "card") -> CardRequest:
    """Ask the gateway for a card-entry page (``method="card"``) or a direct-debit mandate page
    (``"bank_account"``) for the contact; the request keeps its link (``url``), and the contact is
    e-mailed the link through the notification outbox."""
    return _card_request(environment, organisation_id, contact_id, actor=actor, gateway=gateway, method=method)


def open_card_entry(environment: str, organisation_id: int, *, actor: str | None = None,
                    gateway: BlueSnapConnector | None = None) -> CardRequest:
    """A card-entry page for someone of the customer who is at the screen now (the customer
    portal): the request keeps its link (``url``) and nobody is e-mailed."""
    return _card_request(environment, organisation_id, None, actor=actor, gateway=gateway)


def _card_request(environment: str, organisation_id: int, contact_id: int | None, *, actor: str | None,
                  gateway: BlueSnapConnector | None, method: str = "card") -> CardRequest:
    method = method.strip().lower().replace("-", "_")
    if method not in FORM_METHODS:
        raise PaymentMethodError(f"method: must be card or bank-account, not {method!r}")
    bank = method == "bank_account"
    with session(environment) as s:
        org = organisation(s, organisation_id)
        contact = _contact(s, org, contact_id) if contact_id is not None else None
        card_id = stored_id(gateway_card(s))
    own = gateway is None
    gw = gateway or open_gateway(environment)
    try:
        # a token never used costs nothing: safe to ask again
        entry = gw.start_bank_entry() if bank else gw.start_card_entry()
    finally:
        if own:
            gw.close()
    prefix = "dd" if bank else "card"
    with session(environment) as s:
        request = CardRequest(environment=environment, key=f"{prefix}-{organisation_id}-{uuid.uuid4().hex[:16]}",
                              organisation_id=organisation_id, contact_id=contact_id, gateway_connector_id=card_id,
                              method=method, email=contact.email if contact else None,
                              gateway_token=entry.pf_token, url=entry.page_url)
        s.add(request)
        s.flush()
        if contact is None:
            audit.record(s, "payment_method.card_entry_opened", "organisation", organisation_id, actor=actor,
                         after={"card_request": request.id, "method": method})
            return request
        audit.record(s, "payment_method.mandate_form_sent" if bank else "payment_method.card_form_sent",
                     "organisation", organisation_id, actor=actor,
                     after={"card_request": request.id, "contact": contact_id, "email": contact.email, "method": method})
        # seed 000's "Go": the contact gets the page's link by e-mail (the outbox sends it)
        kind = NotificationType.MANDATE_FORM if bank else NotificationType.CARD_FORM
        enqueue(s, Notification(type=kind, key=f"{kind.value.replace('_', '-')}/{request.key}",
                                customer_name=org.name, card_form_url=entry.page_url, contact_id=contact_id),
                organisation_id=organisation_id)
    return request


def complete_card_request(environment: str, request_id: int, *, actor: str | None = None,
                          gateway: BlueSnapConnector | None = None) -> PaymentMethod:
    """Vault the card the contact entered and make it the organisation's payment method.

    Raises:
        PaymentMethodError: no such request, the contact has not entered the card yet (the
            request stays ``sent``), or the link expired (the request becomes ``expired``).
    """
    with session(environment) as s:
        request = s.exec(select(CardRequest).where(col(CardRequest.id) == request_id)).one_or_none()
        if request is None:
            raise PaymentMethodError(f"request: no card request {request_id} in {environment}")
        if request.status == "completed" and request.payment_method_id is not None:
            return s.exec(select(PaymentMethod).where(col(PaymentMethod.id) == request.payment_method_id)).one()
        if request.status != "sent":
            raise PaymentMethodError(f"request: card request {request_id} is {request.status}; send a new form")
        org = organisation(s, request.organisation_id)
        contact = s.exec(select(Contact).where(col(Contact.id) == request.contact_id)).one_or_none()
        first = (contact.first_name if contact else None) or "Card"
        last = (contact.last_name if contact else None) or org.name
        token, email, bank = request.gateway_token or "", request.email, request.method == "bank_account"
    own = gateway is None
    gw = gateway or open_gateway(environment)
    what = "authorised the direct debit" if bank else "entered a card"
    try:
        vaulted: CardOnFile | BankAccountOnFile = (
            gw.create_bank_shopper(pf_token=token, first_name=first, last_name=last, email=email) if bank
            else gw.create_vaulted_shopper(pf_token=token, first_name=first, last_name=last, email=email))
    except CardEntryIncomplete:
        raise PaymentMethodError(f"request: the contact has not {what} for request {request_id} yet") from None
    except CardEntryExpired as exc:
        with session(environment) as s:
            row = s.exec(select(CardRequest).where(col(CardRequest.id) == request_id)).one()
            row.status, row.error = "expired", str(exc)
        raise PaymentMethodError(f"request: the link of request {request_id} expired; send a new form") from None
    finally:
        if own:
            gw.close()
    with session(environment) as s:
        row = s.exec(select(CardRequest).where(col(CardRequest.id) == request_id).with_for_update()).one()
        if row.status == "completed" and row.payment_method_id is not None:  # a concurrent completion won
            return s.exec(select(PaymentMethod).where(col(PaymentMethod.id) == row.payment_method_id)).one()
        method = PaymentMethod(environment=environment, organisation_id=row.organisation_id,
                               gateway_connector_id=row.gateway_connector_id, contact_id=row.contact_id,
                               kind=PaymentMethodKind.CARD.value, vaulted_shopper_id=vaulted.vaulted_shopper_id,
                               holder_name=vaulted.holder_name, created_by=actor)
        if isinstance(vaulted, BankAccountOnFile):
            method.kind, method.account_last4, method.account_type = (PaymentMethodKind.DIRECT_DEBIT.value,
                                                                      vaulted.last4, vaulted.account_type)
            method.mandate_reference, method.mandate_date = row.key.upper(), utcnow().date()
        else:
            method.card_brand, method.card_last4 = vaulted.card_type, vaulted.last4
            method.card_exp_month, method.card_exp_year = vaulted.expiry_month, vaulted.expiry_year
        _replace(s, method, actor)
        row.status, row.payment_method_id, row.completed_at, row.error = "completed", method.id, utcnow(), None
    return method


def complete_open_requests(environment: str, *, gateway: BlueSnapConnector | None = None,
                           actor: str | None = None) -> list[dict[str, Any]]:
    """The poll behind the gateway's PAYMENT_UPDATED webhook: try every open card or mandate request
    once (the collection run does, before charging); one row per request completed now. A request
    the contact has not filled stays open; an expired one is marked so."""
    with session(environment) as s:
        open_ids = [stored_id(r) for r in s.exec(select(CardRequest).where(col(CardRequest.status) == "sent")
                                                   .order_by(col(CardRequest.id)))]
    if not open_ids:
        return []
    own = gateway is None
    gw = gateway or open_gateway(environment)
    done: list[dict[str, Any]] = []
    try:
        for request_id in open_ids:
            try:
                method = complete_card_request(environment, request_id, actor=actor, gateway=gw)
            except (PaymentMethodError, ApiError):  # not filled yet, expired, or the gateway busy: next run
                continue
            done.append({"request": request_id, "organisation": method.organisation_id, "method": describe(method)})
    finally:
        if own:
            gw.close()
    return done


# --- direct debit, none, removal, footer note ---------------------------------------------


def set_method(s: Session, organisation_id: int, kind: str, *, mandate_reference: str | None = None,
               account_last4: str | None = None, actor: str | None = None) -> PaymentMethod:
    """Make a direct-debit mandate (reference + last 4 digits of the account) or "none" the
    organisation's payment method. Cards come through the card form only."""
    try:
        method_kind = PaymentMethodKind(kind)
    except ValueError:
        raise PaymentMethodError(f"kind: must be direct_debit or none, not {kind!r}") from None
    if method_kind == PaymentMethodKind.CARD:
        raise PaymentMethodError("kind: a card is added by sending the card form to a contact (send-form)")
    org = organisation(s, organisation_id)
    method = PaymentMethod(environment=s.info["environment"], organisation_id=stored_id(org), kind=method_kind.value,
                           autopay=method_kind != PaymentMethodKind.NONE, created_by=actor)
    if method_kind == PaymentMethodKind.DIRECT_DEBIT:
        reference = (mandate_reference or "").strip()
        if not reference or len(reference) > 64:
            raise PaymentMethodError("mandate_reference: a direct debit needs its mandate reference (1-64 characters)")
        last4 = (account_last4 or "").strip()
        if not re.fullmatch(r"\d{4}", last4):
            raise PaymentMethodError(f"account_last4: must be the last 4 digits of the account, not {account_last4!r}")
        method.mandate_reference, method.account_last4 = reference, last4
        method.gateway_connector_id = gateway_card(s).id
    _replace(s, method, actor)
    return method


def remove_method(s: Session, organisation_id: int, *, actor: str | None = None) -> PaymentMethod:
    """Remove the organisation's active payment method (kept as "removed")."""
    org = organisation(s, organisation_id)
    current = active_method(s, stored_id(org))
    if current is None:
        raise PaymentMethodError(f"organisation: {org.name} has no payment method to remove")
    _retire(s, current, org, actor)
    return current


def set_footer_note(s: Session, organisation_id: int, on: bool, *, actor: str | None = None) -> PaymentMethod:
    """Switch the "amount will be collected" invoice footer note of the active method."""
    return _switch(s, organisation_id, "footer_note", on, actor, "has no card or mandate the note could speak of")


def set_autopay(s: Session, organisation_id: int, on: bool, *, actor: str | None = None) -> PaymentMethod:
    """Switch autopay of the active method: on, each invoice is charged on its due date (seed 001);
    off, the customer pays each invoice themselves."""
    return _switch(s, organisation_id, "autopay", on, actor, "has no card or mandate to charge; add a card first")


def _switch(s: Session, organisation_id: int, flag: str, on: bool, actor: str | None, missing: str) -> PaymentMethod:
    """Set one on/off ``flag`` of the organisation's active card or mandate, audited."""
    org = organisation(s, organisation_id)
    current = active_method(s, stored_id(org))
    if current is None or current.kind == PaymentMethodKind.NONE:
        raise PaymentMethodError(f"{flag}: {org.name} {missing}")
    before = getattr(current, flag)
    setattr(current, flag, on)
    audit.record(s, f"payment_method.{flag}", "organisation", org.id, actor=actor,
                 before={flag: before}, after={flag: on})
    return current


def _snapshot(method: PaymentMethod | None) -> dict[str, Any] | None:
    if method is None:
        return None
    snap = {"id": method.id, "kind": method.kind, "method": describe(method), "holder": method.holder_name}
    if method.mandate_date is not None:
        snap.update(mandate_date=method.mandate_date.isoformat(), account_type=method.account_type)
    return snap


def _retire(s: Session, current: PaymentMethod, org: Organisation, actor: str | None) -> None:
    current.status, current.removed_at = "removed", utcnow()
    s.add(current)
    s.flush()
    audit.record(s, "payment_method.remove", "organisation", org.id, actor=actor, before=_snapshot(current))
    if current.kind != PaymentMethodKind.NONE:
        enqueue(s, _notification(NotificationType.PAYMENT_METHOD_REMOVED, f"pm-removed-{current.id}", org, current),
                organisation_id=org.id)


def _replace(s: Session, method: PaymentMethod, actor: str | None) -> None:
    """``method`` becomes the active one; the previous active method is marked removed."""
    org = organisation(s, method.organisation_id)
    current = active_method(s, stored_id(org))
    if current is not None:
        method.footer_note = current.footer_note
        current.status, current.removed_at = "removed", utcnow()
        s.add(current)
        s.flush()  # the unique "one active method" index must see the old one go first
    s.add(method)
    s.flush()
    audit.record(s, "payment_method.set", "organisation", org.id, actor=actor, before=_snapshot(current),
                 after=_snapshot(method))
    if method.kind != PaymentMethodKind.NONE:
        enqueue(s, _notification(NotificationType.PAYMENT_METHOD_ADDED, f"pm-added-{method.id}", org, method),
                organisation_id=org.id)
    elif current is not None and current.kind != PaymentMethodKind.NONE:
        enqueue(s, _notification(NotificationType.PAYMENT_METHOD_REMOVED, f"pm-removed-{current.id}", org, current),
                organisation_id=org.id)


def _notification(kind: NotificationType, key: str, org: Organisation, method: PaymentMethod) -> Notification:
    return Notification(type=kind, key=key, customer_name=org.name, payment_method=PaymentMethodKind(method.kind),
                        card_brand=method.card_brand, card_last4=method.card_last4,
                        card_expiry=(f"{method.card_exp_month:02d}/{method.card_exp_year % 100:02d}"
                                     if method.card_exp_month and method.card_exp_year else None))
