"""Three-way reconciliation of payments: the drifts between gateway, hub, ERP and PSA, and their fix."""

from __future__ import annotations

from fastapi import APIRouter

from hub.web import operations
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs

router = APIRouter(tags=["reconciliation"])


@router.get("/reconciliation")
def get_reconciliation(actor: CurrentActor) -> Json:
    """Check every payment taken now: ``drifts``, each naming the systems, the document (invoice
    number), the gateway transaction id, the amounts and who can fix it (the hub or a person)."""
    return operations.reconcile(actor)


@router.post("/reconciliation/{drift}/fix", openapi_extra=needs("Collections", "Pay"))
def fix_drift(actor: CurrentActor, drift: str) -> list[Json]:
    """Fix a drift (its id, or a gateway transaction id: all of its drifts), keyed by the transaction
    id so nothing is posted twice; one result per drift (fixed, needs_person, failed, still_there)."""
    return operations.fix_drift(actor, drift)
