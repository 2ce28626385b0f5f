"""FastAPI app simulating the Kaseya BMS REST API v2 plus sandbox-only ``/_admin`` controls.

Handlers parse query/body by hand (case-insensitively) so every failure comes back
in the BMS envelope rather than FastAPI's 422 shape, and so permission checks run
before any validation, as on the real API.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import crm, finance, security, servicedesk
from .admin import register_admin
from .faults import BmsSandboxApp
from .state import SandboxState
from .wire import ApiError, error_response

__all__ = ["BmsSandboxApp", "create_app"]


def create_app(state: SandboxState) -> BmsSandboxApp:
    """Build the app around one tenant state (kept on ``app.sandbox``)."""
    app = BmsSandboxApp(title="Kaseya BMS sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.sandbox = state

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(ApiError(404, "NotFound", "Resource not found"))
        return error_response(ApiError(exc.status_code, "HttpError", str(exc.detail)))

    security.register(app, state)
    crm.register(app, state)
    finance.register(app, state)
    servicedesk.register(app, state)
    register_admin(app, state)
    return app
