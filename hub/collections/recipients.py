"""Who a notification is e-mailed to: the contact it names, else the customer's billing contact
(the PSA's first, then the ERP customer's contact or e-mail).
"""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session, col, select

from hub.collections.rules import (
    ContactRecord,
    ContactSource,
    Recipient,
    choose_recipient,
)
from hub.platform.models import (
    Connector,
    Contact,
    Organisation,
)
from hub.sync import cards
from hub.sync.customers import customer_sides


def _contacts(s: Session, org: Organisation | None) -> list[ContactRecord]:
    if org is None:
        return []
    rows = s.exec(select(Contact).where(
        Contact.connector_id == org.connector_id, Contact.organisation_external_id == org.external_id,
        col(Contact.is_deleted).is_(False)).order_by(col(Contact.id)))
    return [contact_record(c) for c in rows]


def contact_record(c: Contact) -> ContactRecord:
    """A hub contact as the recipient choice sees it."""
    return ContactRecord(email=c.email, name=" ".join(p for p in (c.first_name, c.last_name) if p),
                         language=c.language, is_billing_contact=c.is_billing_contact,
                         is_primary=c.is_primary, is_active=c.is_active)


def resolve_recipient(s: Session, organisation_id: int | None, contact_id: int | None = None) -> Recipient | None:
    """Who to e-mail: the contact ``contact_id`` when the notification names one (a card
    form goes to the contact chosen); else the billing contact, the PSA's first, then the ERP
    customer's contact or e-mail."""
    if contact_id is not None:
        contact = s.get(Contact, contact_id)
        if contact is None or contact.is_deleted:
            return None
        card = s.get(Connector, contact.connector_id)
        source = ContactSource.PSA if card is not None and cards.role(card) == "psa" else ContactSource.ERP
        chosen = choose_recipient([replace(contact_record(contact), is_billing_contact=True)], [])
        return Recipient(chosen.email, chosen.name, chosen.language, source) if chosen else None
    customer = customer_sides(s, organisation_id)
    erp = _contacts(s, customer.erp)
    if customer.erp is not None and customer.erp.email:
        erp.append(ContactRecord(email=customer.erp.email, name=customer.erp.name))
    return choose_recipient(_contacts(s, customer.psa), erp)
