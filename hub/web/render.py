"""Rendering pages: templates with the common frame (user, environment switch, CSRF, flash)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from hub.collections.mail_settings import mail_problem
from hub.platform.settings import ENVIRONMENTS
from hub.web.auth import Actor

HERE = Path(__file__).parent
FLASH_COOKIE = "cashrail_flash"
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["environments"] = ENVIRONMENTS

#: the left navigation: (section, ((href, label), ...)); ``ADMIN_NAV`` only for Administrators
NAV = (
    ("", (("/", "Home"),)),
    ("Customers", (("/customers", "Customers"), ("/links", "Linking review"))),
    ("Billing", (("/plans", "Plans"), ("/actions", "Actions"), ("/billing", "Billing setup"))),
    ("Collections", (("/invoices", "Invoices"), ("/invoices/unpaid", "Unpaid"), ("/notifications", "Notifications"),
                     ("/reconciliation", "Reconciliation"))),
    ("Sync", (("/connectors", "Connectors"), ("/quarantine", "Quarantine"))),
)
ADMIN_NAV = ("Settings", (("/users", "Users"), ("/audit", "Audit log"), ("/settings/mail", "Mail"),
                          ("/notifications/settings", "Notification settings"),
                          ("/settings/collections", "Collection & dunning")))


def current_nav(path: str) -> str:
    """The navigation entry ``path`` belongs to: the longest href that is it or a folder above it."""
    hrefs = [href for _, items in (*NAV, ADMIN_NAV) for href, _ in items]
    found = [h for h in hrefs if path == h or (h != "/" and path.startswith(h.rstrip("/") + "/"))]
    return max(found, key=len, default="")


def _amount(value: Any) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"


def path_segment(value: Any) -> str:
    """``value`` as one URL path segment: ``/ ? # %`` and the rest percent-encoded, and a name that
    is ``.`` or ``..`` too (a browser would resolve it and the link would point elsewhere)."""
    segment = quote(str(value), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _ago(value: timedelta | None) -> str:
    """A duration in rough words: "just now", "12 min", "3 h", "2 days"."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def page_link(request: Request, number: int) -> str:
    """This page's address at page ``number`` of its list, its other query parameters kept."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return "?" + urlencode([*params, ("page", str(number))])


templates.env.globals["page_link"] = page_link
templates.env.filters["ago"] = _ago
templates.env.filters["when"] = _when
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


#: a browser keeps a cookie of about 4 KB: what was typed is dropped before the message is
MAX_FLASH = 3800


def redirect(url: str, kind: str = "ok", text: str | None = None, items: list[str] | None = None, *,
             fields: dict[str, str] | None = None, values: dict[str, str] | None = None) -> RedirectResponse:
    """Post/redirect/get, with a one-time message for the next page; ``fields`` (a problem per
    field) and ``values`` (what was typed) fill a refused form again (see :mod:`hub.web.form_errors`)."""
    response = RedirectResponse(url, status_code=303)
    if text:
        message: dict[str, Any] = {"kind": kind, "text": text[:1500], "items": [i[:300] for i in (items or [])][:20],
                                   "fields": {k: v[:300] for k, v in (fields or {}).items()}}
        payload = quote(json.dumps({**message, "values": values or {}}))
        if len(payload) > MAX_FLASH:
            payload = quote(json.dumps(message))
        response.set_cookie(FLASH_COOKIE, payload, httponly=True, samesite="lax", max_age=60)
    return response


def flash_of(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(unquote(raw))
    except ValueError:
        return None
    return data if isinstance(data, dict) and "text" in data else None


def page(request: Request, actor: Actor | None, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    flash = flash_of(request)
    response = templates.TemplateResponse(request, template, {
        "actor": actor, "nav": NAV + ((ADMIN_NAV,) if actor is not None and actor.is_admin else ()),
        "current": current_nav(request.url.path),
        "path": request.url.path, "flash": flash,
        "form_errors": (flash or {}).get("fields") or {}, "form_values": (flash or {}).get("values") or {},
        "csrf_token": actor.csrf_token if actor else context.pop("csrf_token", ""),
        # an administrator is told on every page while the hub cannot e-mail (card forms, reminders)
        "mail_banner": actor.call(mail_problem) if actor is not None and actor.is_admin else None, **context,
    }, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE)
    return response
