"""Taken payments and their refunds."""

from __future__ import annotations

from fastapi import APIRouter

from hub.web import operations
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import RefundIn

router = APIRouter(tags=["collections"])


@router.get("/customers/{org_id}/payments")
def list_payments(actor: CurrentActor, org_id: int) -> list[Json]:
    """The customer's taken payments, newest first: refunded, charged back, and what is left to refund."""
    return operations.customer_payments(actor, org_id)


@router.post("/payments/{payment}/refund", openapi_extra=needs("Collections", "Refund"))
def refund_payment(actor: CurrentActor, payment: str, body: RefundIn) -> Json:
    """Refund a payment (its charge key or the gateway's transaction id): all that is left, or ``amount``.
    The money goes back at the gateway once, the refund is written to the ERP, the invoice is owed
    again and the customer gets a receipt. More than is left to refund: 400, nothing done."""
    return operations.refund(actor, payment, body)
