"""Security headers on every response of the admin app.

The pages load only this app's own scripts, styles and images (no inline script), so the
Content-Security-Policy allows nothing else; no page may be framed (clickjacking), no answer
sniffed into another type, and no URL (which may name a customer) leaks in a Referer. The API
docs page initialises Swagger UI with an inline script, and the Prefect UI served under
``/prefect/`` brings its own: those get what they need, and still no framing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from hub.platform.served import UI_PATH

PAGES_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
DOCS_CSP = PAGES_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")
#: the customer portal may show the firm's logo from its own web site (an image runs nothing)
PORTAL_CSP = PAGES_CSP.replace("img-src 'self' data:", "img-src 'self' data: https:")
PREFECT_CSP = ("default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob: ws: wss:; object-src 'none'; "
               "base-uri 'self'; frame-ancestors 'none'")
COMMON = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
          "Cross-Origin-Opener-Policy": "same-origin"}


def _policy(path: str) -> str:
    if path == "/api/docs":
        return DOCS_CSP
    if path == UI_PATH or path.startswith(UI_PATH + "/"):
        return PREFECT_CSP
    if path.startswith("/portal/"):
        return PORTAL_CSP
    return PAGES_CSP


def add_security_headers(app: FastAPI) -> None:
    """Every response, errors and static files included, carries the headers."""

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.update(COMMON)
        response.headers["Content-Security-Policy"] = _policy(request.url.path)
        return response
