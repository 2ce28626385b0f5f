"""The customer portal: one customer's invoices, payment and payment methods, opened with a
signed link (``/portal/<token>``) instead of a sign-in.

Routes are thin: the link is checked first (an altered, expired or withdrawn link gets a page
that shows nothing), every form carries the link's CSRF token, and what a page shows or does
comes from :mod:`hub.collections.portal` and :mod:`hub.collections.portal_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from hub.collections import portal, portal_actions
from hub.collections.chargeable import ChargeRow
from hub.collections.rules.errors import CollectError
from hub.documents import portal as portal_documents
from hub.documents import render
from hub.documents.rules.statements import BUCKETS
from hub.platform.db import get_engine, session
from hub.platform.errors import CashrailError
from hub.platform.settings import Settings
from hub.platform.types import utcnow
from hub.portal import links
from hub.portal.settings import PortalSettings
from hub.portal.settings import get_settings as portal_settings
from hub.web.auth import PUBLIC, CsrfError
from hub.web.render import FLASH_COOKIE, flash_of, path_segment, redirect, templates

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)
PREFIX = links.PREFIX


@dataclass(frozen=True)
class Visit:
    """A portal request whose link holds: the customer, the link's token and form token, the branding."""

    link: links.PortalLink
    token: str
    form_token: str
    brand: PortalSettings
    settings: Settings

    @property
    def base(self) -> str:
        return f"/portal/{self.token}"

    def call(self, service: Any, *args: Any, **kwargs: Any) -> Any:
        with session(self.link.environment, get_engine(self.settings)) as s:
            return service(s, *args, **kwargs)

    def customer(self, s: Any) -> portal.Customer:
        return portal.customer(s, self.link.organisation_id)


VERIFIED_COOKIE = "cashrail_portal_code"
#: how long an entered one-time code keeps the link open in that browser
VERIFIED_FOR = timedelta(hours=8)


class CodeRequired(CashrailError):
    """The firm requires a one-time code and this browser has not entered one for the link yet."""

    status = 401

    def __init__(self, base: str) -> None:
        super().__init__("enter the code we e-mail you first")
        self.base = base


def _link(request: Request, token: str) -> Visit:
    """The link holds (the code is not asked for: the code pages themselves)."""
    settings: Settings = request.app.state.settings
    link = links.open_link(token, settings=settings)
    with session(link.environment, get_engine(settings)) as s:
        brand = portal_settings(s)
    return Visit(link, token, links.form_token(token, settings), brand, settings)


def _visit(request: Request, token: str) -> Visit:
    """The link holds and, where the firm requires it, this browser entered a one-time code."""
    visit = _link(request, token)
    if visit.brand.require_code and not links.is_verified(token, request.cookies.get(VERIFIED_COOKIE),
                                                          settings=visit.settings):
        raise CodeRequired(visit.base)
    return visit


async def _checked_form(request: Request, token: str) -> FormData:
    form = await request.form()
    submitted = form.get("csrf_token")
    if not (isinstance(submitted, str) and links.form_token_ok(token, submitted, request.app.state.settings)):
        raise CsrfError()
    return form


async def _form(request: Request, token: str) -> FormData:
    """The posted form, once its CSRF token is the link's (checked after the link and the code)."""
    await run_in_threadpool(_visit, request, token)
    return await _checked_form(request, token)


async def _code_form(request: Request, token: str) -> FormData:
    await run_in_threadpool(_link, request, token)
    return await _checked_form(request, token)


Opened = Annotated[Visit, Depends(_visit)]
Posted = Annotated[FormData, Depends(_form)]
LinkOnly = Annotated[Visit, Depends(_link)]
CodePosted = Annotated[FormData, Depends(_code_form)]


def _page(request: Request, visit: Visit | None, template: str, status_code: int = 200, **context: Any) -> Response:
    flash = flash_of(request)
    response = templates.TemplateResponse(request, template, {
        "v": visit, "brand": visit.brand if visit else PortalSettings(), "flash": flash,
        "csrf_token": visit.form_token if visit else "", **context}, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE)
    return response


def error_page(request: Request, status: int, message: str) -> Response:
    """The portal's own error page: the message and, when the link itself holds, the way back."""
    token = request.url.path.removeprefix("/portal/").split("/", 1)[0]
    back = None
    if status != 403 and token:
        try:
            links.open_link(token, settings=request.app.state.settings)
            back = f"/portal/{path_segment(token)}"
        except links.LinkError:
            back = None
    return _page(request, None, "portal_error.html", status_code=status, status=status, message=message, back=back)


@router.get("/portal/_brand/{environment}.css", openapi_extra=PUBLIC)
def brand_css(request: Request, environment: str) -> Response:
    """The firm's colour as a style sheet (the pages allow no inline style)."""
    from hub.platform.settings import ENVIRONMENTS

    colour = PortalSettings().primary_colour
    if environment in ENVIRONMENTS:
        with session(environment, get_engine(request.app.state.settings)) as s:
            colour = portal_settings(s).primary_colour
    return Response(f":root {{ --brand: {colour}; }}\n", media_type="text/css",
                    headers={"Cache-Control": "no-cache"})


@router.get("/portal/{token}", openapi_extra=PUBLIC)
def invoices_page(request: Request, visit: Opened, state: str = "open", q: str = "", page: int = 1) -> Response:
    today = utcnow().date()

    def load(s: Any) -> dict[str, Any]:
        c = visit.customer(s)
        return {"c": c, "listing": portal.invoices(s, c, today, state=state, q=q, page=page),
                "methods": portal.methods(s, c)}

    return _page(request, visit, "portal_invoices.html", **visit.call(load), today=today)


@router.get("/portal/{token}/invoices/{invoice_id}", openapi_extra=PUBLIC)
def invoice_page(request: Request, visit: Opened, invoice_id: int) -> Response:
    today = utcnow().date()

    def load(s: Any) -> dict[str, Any]:
        c = visit.customer(s)
        return {"c": c, "detail": portal.invoice(s, c, invoice_id, today), "methods": portal.methods(s, c),
                "block": portal_documents.invoice_balance(s, c, invoice_id, today)}

    return _page(request, visit, "portal_invoice.html", **visit.call(load))


def _pdf(content: bytes, filename: str) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.get("/portal/{token}/invoices/{invoice_id}/pdf", openapi_extra=PUBLIC)
def invoice_pdf(visit: Opened, invoice_id: int) -> Response:
    """The invoice's image: the first source of the *Invoice Image Data* order that has it."""
    _, pdf = portal_documents.invoice_pdf(visit.link.environment, visit.link.organisation_id, invoice_id)
    number = visit.call(lambda s: portal.owned_invoice(s, visit.customer(s), invoice_id).number)
    return _pdf(pdf, render.pdf_filename("invoice", number))


@router.get("/portal/{token}/statements", openapi_extra=PUBLIC)
def statement_page(request: Request, visit: Opened, as_of: str = "") -> Response:
    today = utcnow().date()

    def load(s: Any) -> dict[str, Any]:
        c = visit.customer(s)
        when = portal_documents.statement_date(as_of, today)
        return {"c": c, "result": portal_documents.account_statement(s, c, when), "today": today,
                "buckets": [(key, label) for key, label, *_ in BUCKETS]}

    return _page(request, visit, "portal_statement.html", **visit.call(load))


@router.get("/portal/{token}/statements/pdf", openapi_extra=PUBLIC)
def statement_pdf(visit: Opened, as_of: str = "") -> Response:
    when = portal_documents.statement_date(as_of, utcnow().date())

    def load(s: Any) -> tuple[Any, str]:
        return portal_documents.account_statement(s, visit.customer(s), when), render.sender_name(s)

    result, sender = visit.call(load)
    return _pdf(render.statement_pdf(result, sender), render.pdf_filename("statement", when.isoformat()))


@router.get("/portal/{token}/methods", openapi_extra=PUBLIC)
def methods_page(request: Request, visit: Opened) -> Response:
    def load(s: Any) -> dict[str, Any]:
        c = visit.customer(s)
        return {"c": c, "methods": portal.methods(s, c)}

    return _page(request, visit, "portal_methods.html", **visit.call(load))


def _ids(form: FormData) -> list[int]:
    try:
        return [int(str(v)) for v in form.getlist("invoice")]
    except ValueError:
        raise CollectError("invoice: not an invoice number of this page") from None


def _amounts(form: FormData, ids: list[int]) -> dict[int, Decimal]:
    """The amounts typed beside the selected invoices (``amount_<id>``), where one was typed."""
    found: dict[int, Decimal] = {}
    for i in ids:
        raw = str(form.get(f"amount_{i}") or "").strip().replace(",", "")
        if raw:
            try:
                found[i] = Decimal(raw)
            except InvalidOperation:
                raise CollectError(f"amount: {raw!r} is not an amount") from None
    return found


def _outcome(visit: Visit, rows: list[ChargeRow]) -> RedirectResponse:
    """Back to the invoices with what happened to each one."""
    paid = [r for r in rows if r.status == "approved"]
    other = [f"{r.invoice_number or r.invoice_id}: {r.status}" + (f" ({r.reason})" if r.reason else "")
             for r in rows if r.status != "approved"]
    if paid and not other:
        total = sum((r.amount or Decimal(0) for r in paid), Decimal(0))
        return redirect(f"{visit.base}?state=paid", "ok", f"Thank you: {total:,.2f} {paid[0].currency} paid "
                        f"({', '.join(r.invoice_number or str(r.invoice_id) for r in paid)}). A receipt is on "
                        "its way by e-mail.", [f"{r.invoice_number}: {r.amount or 0:,.2f} {r.currency}" for r in paid])
    return redirect(visit.base, "error", "Not everything was paid." if paid else "Nothing was paid.",
                    [f"{r.invoice_number}: paid {r.amount} {r.currency}" for r in paid] + other)


@router.post("/portal/{token}/pay", openapi_extra=PUBLIC)
def pay(visit: Opened, form: Posted) -> Response:
    ids = _ids(form)
    if not ids:
        return redirect(visit.base, "error", "Select the invoices to pay first.")
    amounts = _amounts(form, ids)
    if form.get("how") == "new_card":
        if amounts:
            raise CollectError("amount: pay part of an invoice with the card on file; a new card pays whole invoices")
        request = portal_actions.start_card(visit.link.environment, visit.link.organisation_id)
        return RedirectResponse(f"{visit.base}/card/{request.id}?{urlencode([('invoice', i) for i in ids])}",
                                status_code=303)
    rows = portal_actions.pay(visit.link.environment, visit.link.organisation_id, ids, amounts=amounts)
    return _outcome(visit, rows)


@router.post("/portal/{token}/card", openapi_extra=PUBLIC)
def card_start(visit: Opened, form: Posted) -> Response:
    request = portal_actions.start_card(visit.link.environment, visit.link.organisation_id)
    return RedirectResponse(f"{visit.base}/card/{request.id}", status_code=303)


@router.get("/portal/{token}/card/{request_id}", openapi_extra=PUBLIC)
def card_page(request: Request, visit: Opened, request_id: int) -> Response:
    ids = [int(i) for i in request.query_params.getlist("invoice") if i.isdigit()]

    def load(s: Any) -> dict[str, Any]:
        c = visit.customer(s)
        entry = portal_actions.card_request(s, c, request_id)
        chosen = portal.owned_invoice_ids(s, c, ids) if ids else []
        return {"c": c, "entry": entry, "invoices": [portal.invoice(s, c, i, utcnow().date()).invoice for i in chosen]}

    return _page(request, visit, "portal_card.html", **visit.call(load))


@router.post("/portal/{token}/card/{request_id}", openapi_extra=PUBLIC)
def card_finish(visit: Opened, form: Posted, request_id: int) -> Response:
    ids = _ids(form)
    method = portal_actions.finish_card(visit.link.environment, visit.link.organisation_id, request_id)
    if not ids:
        return redirect(f"{visit.base}/methods", "ok", f"Card saved: {method.card_brand} ending {method.card_last4}.")
    return _outcome(visit, portal_actions.pay(visit.link.environment, visit.link.organisation_id, ids))


@router.post("/portal/{token}/autopay", openapi_extra=PUBLIC)
def autopay(visit: Opened, form: Posted) -> Response:
    on = form.get("autopay") == "on"
    portal_actions.set_autopay(visit.link.environment, visit.link.organisation_id, on)
    return redirect(f"{visit.base}/methods", "ok", "Autopay is on: each invoice is charged on its due date."
                    if on else "Autopay is off: pay each invoice here when you choose.")


@router.post("/portal/{token}/methods/remove", openapi_extra=PUBLIC)
def remove_method(visit: Opened, form: Posted) -> Response:
    portal_actions.remove_card(visit.link.environment, visit.link.organisation_id)
    return redirect(f"{visit.base}/methods", "ok", "Your card was removed; autopay is off.")


# --- the one-time code (setting require_code) ------------------------------------------------


@router.get("/portal/{token}/code", openapi_extra=PUBLIC)
def code_page(request: Request, visit: LinkOnly) -> Response:
    def load(s: Any) -> dict[str, Any]:
        c = visit.customer(s)
        return {"contacts": portal.code_contacts(s, c), "customer_name": c.organisation.name}

    return _page(request, visit, "portal_code.html", **visit.call(load))


@router.post("/portal/{token}/code/send", openapi_extra=PUBLIC)
def code_send(visit: LinkOnly, form: CodePosted) -> Response:
    raw = str(form.get("contact") or "")
    if not raw.isdigit():
        return redirect(f"{visit.base}/code", "error", "Choose who should get the code.")
    contact = portal_actions.send_code(visit.link.environment, visit.link.organisation_id, int(raw))
    return redirect(f"{visit.base}/code", "ok", f"We e-mailed a code to {contact.masked_email}; enter it below.")


@router.post("/portal/{token}/code", openapi_extra=PUBLIC)
def code_enter(visit: LinkOnly, form: CodePosted) -> Response:
    try:
        portal_actions.enter_code(visit.link.environment, visit.link.organisation_id, str(form.get("code") or ""))
    except CashrailError as exc:
        return redirect(f"{visit.base}/code", "error", str(exc).removeprefix("code: ").capitalize())
    response = redirect(visit.base, "ok", "Thank you: your invoices are open in this browser for the next hours.")
    response.set_cookie(VERIFIED_COOKIE, links.verified_mark(visit.token, utcnow() + VERIFIED_FOR, visit.settings),
                        max_age=int(VERIFIED_FOR.total_seconds()), path=visit.base, httponly=True, samesite="lax",
                        secure=visit.brand.public_url.startswith("https://"))
    return response
