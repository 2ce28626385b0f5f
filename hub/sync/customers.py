"""One customer across systems: its PSA organisation and its ERP customer, linked through
:class:`~hub.platform.models.OrganisationLink`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from hub.platform.models import (
    Connector,
    Organisation,
    OrganisationLink,
)

PSA_KIND = "bms"


@dataclass(frozen=True)
class CustomerSides:
    """One customer's PSA organisation and ERP customer (either may be unknown)."""

    psa: Organisation | None
    erp: Organisation | None


def customer_sides(s: Session, organisation_id: int | None) -> CustomerSides:
    """The PSA and ERP sides of the organisation (linked through OrganisationLink)."""
    org = s.get(Organisation, organisation_id) if organisation_id is not None else None
    if org is None:
        return CustomerSides(None, None)
    card = s.get(Connector, org.connector_id)
    is_psa = card is not None and card.kind == PSA_KIND
    side = OrganisationLink.psa_organisation_id if is_psa else OrganisationLink.erp_organisation_id
    link = s.execute(select(OrganisationLink).where(side == org.id)).scalar_one_or_none()
    if is_psa:
        return CustomerSides(org, s.get(Organisation, link.erp_organisation_id) if link else None)
    return CustomerSides(s.get(Organisation, link.psa_organisation_id) if link else None, org)
