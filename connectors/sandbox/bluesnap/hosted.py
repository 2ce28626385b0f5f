"""The gateway's hosted entry pages, one shape for the card form and the mandate (bank) form: a
link per Hosted Payment Fields token that answers 404 unknown, 410 expired, 409 when the token was
used for the other kind of entry, the "done" page once entered, else the form; a post checks the
fields, keeps what was typed with each error beside its field (422), or stores the entry and tells
the merchant (``state.payment_entered``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from . import page
from .state import GatewayState, PfToken


@dataclass(frozen=True)
class HostedForm:
    path: str  # "/hosted/card-form": the page is at f"{path}/{token}"
    noun: str  # how the link is named in its messages: "card-entry", "direct-debit"
    field: str  # the token's attribute the form fills: "card", "bank"
    other: str  # the token's attribute of the other kind of entry
    other_text: str  # the 409 page's text when the token was used for the other kind
    fields: tuple[str, ...]
    form_page: Callable[..., str]
    done_page: Callable[[Any], str]
    check: Callable[[dict[str, str], Any], tuple[Any, dict[str, str]]]
    done: Callable[[PfToken], bool]  # whether the entry is complete (the done page answers)


def register_hosted_form(app: FastAPI, state: GatewayState, form: HostedForm) -> None:
    def open_token(token: str) -> PfToken | HTMLResponse:
        """The token's entry state, or the page that answers instead (unknown, expired, used, done)."""
        entry = state.token(token)
        if entry is None:
            return HTMLResponse(page.message_page("Link not found", f"This {form.noun} link is not valid. "
                                                  "Ask your supplier to send a new one."), status_code=404)
        if state.token_expired(entry):
            return HTMLResponse(page.message_page("Link expired", f"This {form.noun} link has expired. "
                                                  "Ask your supplier to send a new one."), status_code=410)
        if getattr(entry, form.other) is not None:
            return HTMLResponse(page.message_page("Link already used", form.other_text), status_code=409)
        if form.done(entry):
            return HTMLResponse(form.done_page(getattr(entry, form.field)))
        return entry

    async def show(token: str, request: Request) -> HTMLResponse:
        entry = open_token(token)
        if isinstance(entry, HTMLResponse):
            return entry
        return HTMLResponse(form.form_page(request.url.path))

    async def submit(token: str, request: Request) -> HTMLResponse:
        entry = open_token(token)
        if isinstance(entry, HTMLResponse):
            return entry
        raw = (await request.body()).decode("utf-8", "replace")
        values = {k: v for k, v in parse_qsl(raw, keep_blank_values=True) if k in form.fields}
        entered, errors = form.check(values, state.now())
        if entered is None:
            return HTMLResponse(form.form_page(request.url.path, values, errors), status_code=422)
        with state.lock:
            setattr(entry, form.field, entered)
        state.payment_entered(entry)
        return HTMLResponse(form.done_page(entered))

    app.add_api_route(f"{form.path}/{{token}}", show, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route(f"{form.path}/{{token}}", submit, methods=["POST"], response_class=HTMLResponse)
