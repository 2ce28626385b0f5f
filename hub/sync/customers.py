"""One customer across systems: its PSA organisation and its ERP customer, linked through
:class:`~hub.platform.models.OrganisationLink`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import Session, col, select

from hub.platform.models import Connector, Organisation, OrganisationLink, stored_id
from hub.sync import cards


@dataclass(frozen=True)
class CustomerSides:
    """One customer's PSA organisation and ERP customer (either may be unknown)."""

    psa: Organisation | None
    erp: Organisation | None


def linked_organisation_id(s: Session, organisation_id: int) -> int | None:
    """The organisation linked to this one (PSA organisation <-> ERP customer), if any."""
    link = s.exec(select(OrganisationLink).where(or_(
        col(OrganisationLink.psa_organisation_id) == organisation_id,
        col(OrganisationLink.erp_organisation_id) == organisation_id))).one_or_none()
    if link is None:
        return None
    return link.erp_organisation_id if link.psa_organisation_id == organisation_id else link.psa_organisation_id


def customer_sides(s: Session, organisation_id: int | None) -> CustomerSides:
    """The PSA and ERP sides of the organisation (linked through OrganisationLink)."""
    org = s.get(Organisation, organisation_id) if organisation_id is not None else None
    if org is None:
        return CustomerSides(None, None)
    linked_id = linked_organisation_id(s, stored_id(org))
    linked = s.get(Organisation, linked_id) if linked_id is not None else None
    card = s.get(Connector, org.connector_id)
    if card is not None and cards.role(card) == "psa":
        return CustomerSides(org, linked)
    return CustomerSides(linked, org)
