"""Billing settings (action quota, scheduled firming), collection settings (charge timing, retries),
document settings (balance mode, invoice images, invoice e-mail), dunning settings (overdue levels, penalty)
and the outgoing mail server (Settings → Mail)."""

from __future__ import annotations

from fastapi import APIRouter

from hub.billing import billing_settings
from hub.collections.mailer import MailDeliveryError
from hub.web import operations, settings_operations
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import (
    BillingSettingsIn,
    CollectionSettingsIn,
    DocumentSettingsIn,
    DunningSettingsIn,
    MailSettingsIn,
    MailTestIn,
    ReceivableIn,
)

router = APIRouter(tags=["settings"])


@router.get("/settings/collections")
def get_collection_settings(actor: CurrentActor) -> Json:
    return operations.collection_settings(actor)


@router.put("/settings/collections", openapi_extra=needs("Collection Settings", "Update"))
def put_collection_settings(actor: CurrentActor, body: CollectionSettingsIn) -> Json:
    """Charge timing, the retry policy and since when invoices are charged (all fields are written)."""
    return operations.put_collection_settings(actor, body)


@router.get("/settings/receivable")
def get_receivable(actor: CurrentActor) -> list[Json]:
    """Per PSA–ERP pair, whose invoices are the receivable (psa, erp, erp_psa_mirror) and whose are copies."""
    return operations.receivable(actor)


@router.put("/settings/receivable", openapi_extra=needs("Collection Settings", "Update"))
def put_receivable(actor: CurrentActor, body: ReceivableIn) -> Json:
    """Choose whose invoices are the receivable between ``psa`` and ``erp``; a bad value is refused by name."""
    return operations.put_receivable(actor, body)


@router.get("/settings/billing")
def get_billing_settings(actor: CurrentActor) -> Json:
    """The monthly action quota (null: none, billing never stops) and whether due actions are firmed daily."""
    return actor.call(billing_settings.load).as_json()


@router.patch("/settings/billing", openapi_extra=needs("Billing Settings", "Update"))
def update_billing_settings(actor: CurrentActor, body: BillingSettingsIn) -> Json:
    """Fields left out are kept; ``action_quota: null`` removes the quota."""
    changes = body.model_dump(include=body.model_fields_set)
    return actor.call(billing_settings.update, actor=actor.email, **changes).as_json()


@router.get("/settings/documents")
def get_document_settings(actor: CurrentActor) -> Json:
    """The balance mode (and its history), the Invoice Image Data order and when invoices are e-mailed."""
    return settings_operations.document_settings(actor)


@router.patch("/settings/documents", openapi_extra=needs("Billing Settings", "Update"))
def update_document_settings(actor: CurrentActor, body: DocumentSettingsIn) -> Json:
    """Fields left out are kept; a new balance mode applies to invoices issued from ``effective_from``
    (default: tomorrow), so invoices already issued keep theirs. Audited."""
    return settings_operations.update_document_settings(actor, body)


@router.get("/settings/dunning")
def get_dunning_settings(actor: CurrentActor) -> Json:
    return settings_operations.dunning_settings(actor)


@router.patch("/settings/dunning", openapi_extra=needs("Collection Settings", "Update"))
def update_dunning_settings(actor: CurrentActor, body: DunningSettingsIn) -> Json:
    """Overdue levels, the penalty and the card-expiry warning (fields left out are kept)."""
    return settings_operations.update_dunning(actor, body)


@router.get("/settings/mail", openapi_extra=needs("Notification Settings", "Update"))
def get_mail_settings(actor: CurrentActor) -> Json:
    """The mail server in use (``source``: saved here, from ``CASHRAIL_SMTP_*``, none, invalid), what
    stops e-mail (``problem``) and whether a password is set; the password itself is never returned."""
    return settings_operations.mail_view(actor)


@router.put("/settings/mail", openapi_extra=needs("Notification Settings", "Update"))
def put_mail_settings(actor: CurrentActor, body: MailSettingsIn) -> Json:
    """Save the environment's mail server (all fields are written; a password left out keeps the saved
    one for the same username). The password is stored encrypted and never returned."""
    settings_operations.save_mail(actor, body)
    return settings_operations.mail_view(actor)


@router.post("/settings/mail/test", openapi_extra=needs("Notification Settings", "Update"))
def send_test_mail(actor: CurrentActor, body: MailTestIn) -> Json:
    """Send a test e-mail through the mail server in use, like Test Connection: ``sent`` and the
    server's ``answer``, or ``sent`` false and the plain ``problem`` (no server, refused, unreachable)."""
    try:
        answer = settings_operations.send_test_mail(actor, body.to_address)
    except MailDeliveryError as exc:
        return {"to_address": body.to_address, "sent": False, "answer": None, "problem": str(exc)}
    return {"to_address": body.to_address, "sent": True, "answer": answer, "problem": None}
