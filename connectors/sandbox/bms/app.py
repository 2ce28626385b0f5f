"""FastAPI app simulating the Kaseya BMS REST API v2 plus sandbox-only ``/_admin`` controls.

Handlers parse query/body by hand (case-insensitively) so every failure comes back
in the BMS envelope rather than FastAPI's 422 shape, and so permission checks run
before any validation, as on the real API.
"""

from __future__ import annotations

from connectors.sandbox.net import answer_errors

from . import crm, finance, security, servicedesk
from .admin import register_admin
from .faults import BmsSandboxApp
from .state import SandboxState
from .wire import ApiError, error_response

__all__ = ["BmsSandboxApp", "create_app"]


def _routing_error(status: int, detail: str) -> ApiError:
    """A request no route answers, as the API words it."""
    return ApiError(404, "NotFound", "Resource not found") if status == 404 else ApiError(status, "HttpError", detail)


def create_app(state: SandboxState) -> BmsSandboxApp:
    """Build the app around one tenant state (kept on ``app.sandbox``)."""
    app = BmsSandboxApp(title="Kaseya BMS sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.sandbox = state

    answer_errors(app, ApiError, error_response, _routing_error)

    security.register(app, state)
    crm.register(app, state)
    finance.register(app, state)
    servicedesk.register(app, state)
    register_admin(app, state)
    return app
