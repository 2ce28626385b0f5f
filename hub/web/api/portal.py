"""The customer portal from the admin side: a customer's signed link, withdrawing its links, the
portal's settings (address, link lifetime, branding, part payments)."""

from __future__ import annotations

from fastapi import APIRouter

from hub.portal import links
from hub.portal import settings as portal_settings
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import PortalLinkIn, PortalSettingsIn

router = APIRouter(tags=["portal"])


@router.post("/customers/{org_id}/portal-link", status_code=201, openapi_extra=needs("Payment Methods", "Update"))
def create_portal_link(actor: CurrentActor, org_id: int, body: PortalLinkIn) -> Json:
    """A signed link to the customer's portal (its invoices, pay, payment methods) until ``expires_at``."""
    link = actor.call(links.issue, org_id, days=body.days, actor=actor.email)
    return {"customer": link.organisation_id, "url": link.url, "expires_at": link.expires_at.isoformat()}


@router.post("/customers/{org_id}/portal-link/revoke", openapi_extra=needs("Payment Methods", "Update"))
def revoke_portal_links(actor: CurrentActor, org_id: int) -> Json:
    """Withdraw every portal link handed out to the customer so far (links made afterwards work)."""
    return {"customer": org_id, "link_version": actor.call(links.revoke, org_id, actor=actor.email)}


@router.get("/settings/portal", tags=["settings"])
def get_portal_settings(actor: CurrentActor) -> Json:
    return actor.call(portal_settings.get_settings).as_json()


@router.patch("/settings/portal", tags=["settings"], openapi_extra=needs("Collection Settings", "Update"))
def update_portal_settings(actor: CurrentActor, body: PortalSettingsIn) -> Json:
    """Fields left out are kept; ``logo_url: ""`` removes the logo."""
    changes = {k: v for k, v in body.model_dump(include=body.model_fields_set).items()
               if v is not None or k == "logo_url"}
    return actor.call(portal_settings.save_settings, changes, actor=actor.email).as_json()
