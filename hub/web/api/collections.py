"""Collections: the customer's payment method and card forms, their standing, unpaid invoices and bulk Pay."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hub.web import operations
from hub.web.api.common import NO_CONTENT, Json, no_content
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import CardFormIn, FooterNoteIn, InvoiceIdsIn, Opt, PaymentMethodIn

router = APIRouter(tags=["collections"])


@router.get("/customers/{org_id}/payment-method")
def get_payment_method(actor: CurrentActor, org_id: int) -> Json:
    """The customer's Payment method panel: the active method (or null) and the card forms still open."""
    return operations.payment_panel(actor, org_id)


@router.post("/customers/{org_id}/card-requests", status_code=201, openapi_extra=needs("Payment Methods", "Create"))
def send_card_form(actor: CurrentActor, org_id: int, body: CardFormIn) -> Json:
    """Send card form (``method`` card) or direct-debit form (``bank_account``: the gateway's ACH mandate
    page) to the contact (``url``); then check the request."""
    return operations.send_card_form(actor, org_id, body.contact_id, body.method)


@router.post("/card-requests/{request_id}/check", openapi_extra=needs("Payment Methods", "Create"))
def check_card_request(actor: CurrentActor, request_id: int) -> Json:
    """Vault the card or bank account the contact entered: it becomes the payment method (400 while none was entered)."""
    return operations.check_card_request(actor, request_id)


@router.put("/customers/{org_id}/payment-method", openapi_extra=needs("Payment Methods", "Create"))
def set_payment_method(actor: CurrentActor, org_id: int, body: PaymentMethodIn) -> Json:
    """Make a direct-debit mandate, or none, the customer's payment method."""
    operations.set_payment_method(actor, org_id, body)
    return operations.payment_panel(actor, org_id)


@router.patch("/customers/{org_id}/payment-method", openapi_extra=needs("Payment Methods", "Update"))
def set_footer_note(actor: CurrentActor, org_id: int, body: FooterNoteIn) -> Json:
    operations.set_footer_note(actor, org_id, body.footer_note)
    return operations.payment_panel(actor, org_id)


@router.delete("/customers/{org_id}/payment-method", status_code=NO_CONTENT,
               openapi_extra=needs("Payment Methods", "Remove"))
def remove_payment_method(actor: CurrentActor, org_id: int) -> Response:
    operations.remove_payment_method(actor, org_id)
    return no_content()


@router.get("/customers/{org_id}/status")
def get_customer_status(actor: CurrentActor, org_id: int) -> Json:
    """The customer's standing ("Current", "Overdue 2") and its unpaid invoices' levels."""
    return operations.customer_status(actor, org_id)


@router.get("/invoices/unpaid")
def list_unpaid(actor: CurrentActor, payment_method: Opt[str] = None) -> list[Json]:
    """Unpaid invoices, oldest due first; ``payment_method``: card, direct_debit or none."""
    return operations.unpaid(actor, payment_method)


@router.post("/invoices/pay", openapi_extra=needs("Collections", "Pay"))
def pay_invoices(actor: CurrentActor, body: InvoiceIdsIn) -> list[Json]:
    """Bulk Pay: charge each invoice now; one result per invoice (approved, declined, skipped, unknown)."""
    return operations.pay(actor, body.ids, one_payment=body.one_payment)
