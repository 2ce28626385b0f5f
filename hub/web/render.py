"""Rendering pages: templates with the common frame (user, environment switch, CSRF, flash)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from hub.platform.settings import ENVIRONMENTS
from hub.web.auth import Actor

HERE = Path(__file__).parent
FLASH_COOKIE = "cashrail_flash"
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["environments"] = ENVIRONMENTS

NAV = (("/", "Dashboard"), ("/connectors", "Connectors"), ("/customers", "Customers"), ("/plans", "Plans"),
       ("/actions", "Actions"), ("/invoices", "Invoices"), ("/invoices/unpaid", "Unpaid"),
       ("/reconciliation", "Reconciliation"),
       ("/notifications", "Notifications"), ("/quarantine", "Quarantine"), ("/billing", "Billing setup"))


def _amount(value: Any) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"


def path_segment(value: Any) -> str:
    """``value`` as one URL path segment: ``/ ? # %`` and the rest percent-encoded, and a name that
    is ``.`` or ``..`` too (a browser would resolve it and the link would point elsewhere)."""
    segment = quote(str(value), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


templates.env.filters["amount"] = _amount
templates.env.filters["seg"] = path_segment


def local_path(url: str | None, default: str = "/") -> str:
    """A same-site path to go back to (never another host: no open redirect)."""
    if not url:
        return default
    parts = urlsplit(url)
    path = parts.path or default
    if not path.startswith("/") or path.startswith("//"):
        return default
    return path + (f"?{parts.query}" if parts.query else "")


def back(request: Request, default: str = "/") -> str:
    """Where the form that was posted came from (same site only)."""
    referer = request.headers.get("referer")
    if referer and urlsplit(referer).netloc not in ("", request.url.netloc):
        return default
    return local_path(referer, default)


def redirect(url: str, kind: str = "ok", text: str | None = None, items: list[str] | None = None) -> RedirectResponse:
    """Post/redirect/get, with a one-time message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if text:
        payload = json.dumps({"kind": kind, "text": text[:1500], "items": [i[:300] for i in (items or [])][:20]})
        response.set_cookie(FLASH_COOKIE, quote(payload), httponly=True, samesite="lax", max_age=60)
    return response


def _flash(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(unquote(raw))
    except ValueError:
        return None
    return data if isinstance(data, dict) and "text" in data else None


def page(request: Request, actor: Actor | None, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    flash = _flash(request)
    response = templates.TemplateResponse(request, template, {
        "actor": actor, "nav": NAV, "path": request.url.path, "flash": flash,
        "csrf_token": actor.csrf_token if actor else context.pop("csrf_token", ""), **context,
    }, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE)
    return response
