"""Pages: collections (seeds 000-002) — the customer's payment method, unpaid invoices with bulk Pay,
notification settings and log, collection and dunning settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.collections.mailer import MailDeliveryError
from hub.collections.notifications import STATUSES, list_notifications, resolve_unknown
from hub.collections.rules import NotificationType
from hub.web import operations, paging, settings_operations
from hub.web.auth import CurrentActor, needs
from hub.web.render import page, redirect
from hub.web.schemas import (
    CardFormIn,
    CollectionSettingsFormIn,
    DocumentSettingsFormIn,
    DunningSettingsFormIn,
    FooterNoteIn,
    MailSettingsIn,
    MailTestIn,
    NotificationSharedIn,
    NotificationTypeFormIn,
    Opt,
    PayFormIn,
    PaymentMethodIn,
    ReceivableIn,
    RefundIn,
    ResolveIn,
)

router = APIRouter(default_response_class=HTMLResponse)
METHODS = (("card", "Card"), ("direct_debit", "Direct debit"), ("none", "None"))


def _customer(org_id: int) -> str:
    return f"/customers/{org_id}#payment-method"


# --- the customer's Payment method panel -------------------------------------------------------


@router.post("/customers/{org_id}/card-form", openapi_extra=needs("Payment Methods", "Create"))
def card_form_send(actor: CurrentActor, org_id: int, body: Annotated[CardFormIn, Form()]) -> Response:
    sent = operations.send_card_form(actor, org_id, body.contact_id, body.method)
    bank = body.method == "bank_account"
    form, task = ("Direct-debit form", "authorise the direct debit") if bank else ("Card form", "enter the card")
    if sent["mail_problem"]:
        return redirect(_customer(org_id), "error", f"{form} created but NOT e-mailed: {sent['mail_problem']}. "
                                                    "Send the contact this link yourself; Check once they have.",
                        [sent["url"] or ""])
    return redirect(_customer(org_id), "ok", f"{form} sent: {sent['email'] or 'the contact'} is e-mailed this "
                                             f"link to {task}; Check once they have.", [sent["url"] or ""])


@router.post("/card-requests/{request_id}/check", openapi_extra=needs("Payment Methods", "Create"))
def card_request_check(actor: CurrentActor, request_id: int) -> Response:
    method = operations.check_card_request(actor, request_id)
    saved = "Direct debit set up" if method["kind"] == "direct_debit" else "Card saved"
    return redirect(_customer(method["organisation_id"]), "ok", f"{saved}: {method['description']}.")


@router.post("/customers/{org_id}/payment-method", openapi_extra=needs("Payment Methods", "Create"))
def payment_method_set(actor: CurrentActor, org_id: int, body: Annotated[PaymentMethodIn, Form()]) -> Response:
    operations.set_payment_method(actor, org_id, body)
    shown = "Direct debit" if body.kind == "direct_debit" else "No payment method"
    return redirect(_customer(org_id), "ok", f"{shown} set.")


@router.post("/customers/{org_id}/payment-method/remove", openapi_extra=needs("Payment Methods", "Remove"))
def payment_method_remove(actor: CurrentActor, org_id: int) -> Response:
    operations.remove_payment_method(actor, org_id)
    return redirect(_customer(org_id), "ok", "Payment method removed.")


@router.post("/customers/{org_id}/footer-note", openapi_extra=needs("Payment Methods", "Update"))
def footer_note(actor: CurrentActor, org_id: int, body: Annotated[FooterNoteIn, Form()]) -> Response:
    operations.set_footer_note(actor, org_id, body.footer_note)
    return redirect(_customer(org_id), "ok", f"Invoice footer note {'on' if body.footer_note else 'off'}.")


@router.post("/customers/{org_id}/payments/{payment}/refund", openapi_extra=needs("Collections", "Refund"))
def payment_refund(actor: CurrentActor, org_id: int, payment: str, body: Annotated[RefundIn, Form()]) -> Response:
    done = operations.refund(actor, payment, body)
    if done["status"] != "succeeded":
        return redirect(f"/customers/{org_id}#payments-taken", "error", f"Refund {done['key']} is {done['status']}: "
                                                                  f"{done['note'] or 'the gateway did not say'}.")
    erp = f" Recorded in the ERP as {done['recorded_ref']}." if done["recorded_ref"] else ""
    note = f" {done['note']}" if done["note"] else ""
    return redirect(f"/customers/{org_id}#payments-taken", "ok", f"Refunded {done['amount']} {done['currency']} of "
                    f"invoice {done['invoice_number']}; the invoice is owed again and the customer gets a receipt."
                    f"{erp}{note}")


# --- unpaid invoices and bulk Pay ------------------------------------------------------------


def _unpaid_page(request: Request, actor: CurrentActor, method: str | None,
                 results: list[dict[str, object]] | None = None, page_no: int = 1) -> Response:
    view = paging.sliced(operations.unpaid(actor, method), page_no)
    return page(request, actor, "unpaid.html", rows=view["rows"], view=view, method=method or "", methods=METHODS,
                results=results,
                path="/invoices/unpaid")  # also after Pay (posted to /invoices/pay)


@router.get("/invoices/unpaid")
def unpaid_page(request: Request, actor: CurrentActor, payment_method: Opt[str] = None,
                page_no: Annotated[int, Query(alias="page")] = 1) -> Response:
    return _unpaid_page(request, actor, payment_method, page_no=page_no)


@router.post("/invoices/pay", openapi_extra=needs("Collections", "Pay"))
def unpaid_pay(request: Request, actor: CurrentActor, body: Annotated[PayFormIn, Form()]) -> Response:
    results = operations.pay(actor, body.ids, one_payment=body.one_payment)
    return _unpaid_page(request, actor, body.payment_method, results)


# --- reconciliation of payments ----------------------------------------------------------------


@router.get("/reconciliation")
def reconciliation_page(request: Request, actor: CurrentActor) -> Response:
    return page(request, actor, "reconciliation.html", run=operations.last_reconciliation(actor))


@router.post("/reconciliation/run", openapi_extra=needs("Collections", "Pay"))
def reconciliation_run(actor: CurrentActor) -> Response:
    found = operations.reconcile(actor)["drifts"]
    return redirect("/reconciliation", "ok", f"Checked: {len(found)} drift{'s' if len(found) != 1 else ''}.")


@router.post("/reconciliation/{drift}/fix", openapi_extra=needs("Collections", "Pay"))
def reconciliation_fix(actor: CurrentActor, drift: str) -> Response:
    results = operations.fix_drift(actor, drift)
    told = "; ".join(f"{r['document']}: {r['status'].replace('_', ' ')}"
                     + (f" ({r['detail']})" if r["status"] != "fixed" else "") for r in results)
    failed = any(r["status"] in ("failed", "still_there") for r in results)
    return redirect("/reconciliation", "error" if failed else "ok", f"Fix: {told}.")


# --- notifications -----------------------------------------------------------------------------


@router.get("/notifications")
def notifications_page(request: Request, actor: CurrentActor, status: Opt[str] = None,
                       page_no: Annotated[int, Query(alias="page")] = 1) -> Response:
    view = paging.peeked(actor.call(list_notifications, status, limit=paging.PAGE_SIZE + 1,
                                    offset=paging.offset(page_no)), page_no)
    return page(request, actor, "notifications.html", rows=view["rows"], view=view, status=status or "",
                statuses=STATUSES)


@router.post("/notifications/{notification}/resolve", openapi_extra=needs("Notifications", "Resolve"))
def notification_resolve(actor: CurrentActor, notification: str, body: Annotated[ResolveIn, Form()]) -> Response:
    result = actor.call(resolve_unknown, notification, body.outcome)
    shown = "recorded as delivered" if body.outcome == "sent" else "queued to be sent again"
    return redirect("/notifications?status=unknown", "ok", f"E-mail of {result['key']} {shown}.")


@router.get("/notifications/settings", openapi_extra=needs("Notification Settings", "Update"))
def notification_settings_page(request: Request, actor: CurrentActor) -> Response:
    return page(request, actor, "notification_settings.html", settings=settings_operations.notification_settings(actor))


@router.post("/notifications/settings", openapi_extra=needs("Notification Settings", "Update"))
def notification_shared_save(actor: CurrentActor, body: Annotated[NotificationSharedIn, Form()]) -> Response:
    settings_operations.update_notifications(actor, None, body)
    return redirect("/notifications/settings", "ok", "Ticket configuration saved.")


@router.post("/notifications/settings/{type}", openapi_extra=needs("Notification Settings", "Update"))
def notification_type_save(actor: CurrentActor, type: NotificationType,
                           body: Annotated[NotificationTypeFormIn, Form()]) -> Response:
    settings_operations.update_notifications(actor, type.value, body)
    return redirect("/notifications/settings", "ok", f"Settings of {type.value} saved.")


# --- the outgoing mail server ---------------------------------------------------------------------


@router.get("/settings/mail", openapi_extra=needs("Notification Settings", "Update"))
def mail_settings_page(request: Request, actor: CurrentActor) -> Response:
    return page(request, actor, "mail_settings.html", mail=settings_operations.mail_view(actor))


@router.post("/settings/mail", openapi_extra=needs("Notification Settings", "Update"))
def mail_settings_save(actor: CurrentActor, body: Annotated[MailSettingsIn, Form()]) -> Response:
    settings_operations.save_mail(actor, body)
    return redirect("/settings/mail", "ok", f"Mail settings saved: e-mail goes out through {body.host}:{body.port}.")


@router.post("/settings/mail/test", openapi_extra=needs("Notification Settings", "Update"))
def mail_settings_test(actor: CurrentActor, body: Annotated[MailTestIn, Form()]) -> Response:
    try:
        answer = settings_operations.send_test_mail(actor, body.to_address)
    except MailDeliveryError as exc:
        return redirect("/settings/mail", "error", f"Test e-mail to {body.to_address} NOT sent: {exc}",
                        values={"to_address": body.to_address})
    return redirect("/settings/mail", "ok", f"Test e-mail sent to {body.to_address}; the mail server answered: "
                                            f"{answer}", values={"to_address": body.to_address})


# --- collection and dunning settings ---------------------------------------------------------


@router.get("/settings/collections", openapi_extra=needs("Collection Settings", "Update"))
def collection_settings_page(request: Request, actor: CurrentActor) -> Response:
    return page(request, actor, "collection_settings.html", collections=operations.collection_settings(actor),
                dunning=settings_operations.dunning_settings(actor), receivable=operations.receivable(actor),
                documents=settings_operations.document_settings(actor))


@router.post("/settings/collections", openapi_extra=needs("Collection Settings", "Update"))
def collection_settings_save(actor: CurrentActor, body: Annotated[CollectionSettingsFormIn, Form()]) -> Response:
    operations.put_collection_settings(actor, body)
    return redirect("/settings/collections", "ok", "Collection settings saved.")


@router.post("/settings/receivable", openapi_extra=needs("Collection Settings", "Update"))
def receivable_save(actor: CurrentActor, body: Annotated[ReceivableIn, Form()]) -> Response:
    saved = operations.put_receivable(actor, body)
    return redirect("/settings/collections", "ok", f"Receivable between {saved['psa']} and {saved['erp']}: "
                                                   f"{saved['of_record']}'s invoices.")


@router.post("/settings/documents", openapi_extra=needs("Billing Settings", "Update"))
def document_settings_save(actor: CurrentActor, body: Annotated[DocumentSettingsFormIn, Form()]) -> Response:
    saved = settings_operations.update_document_settings(actor, body)
    return redirect("/settings/collections", "ok", f"Invoice settings saved: balance mode {saved['balance_mode']} "
                    "(a new mode applies from the next cycle).")


@router.post("/settings/dunning", openapi_extra=needs("Collection Settings", "Update"))
def dunning_settings_save(actor: CurrentActor, body: Annotated[DunningSettingsFormIn, Form()]) -> Response:
    settings_operations.update_dunning(actor, body)
    return redirect("/settings/collections", "ok", "Dunning settings saved.")
