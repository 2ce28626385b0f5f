"""The admin web app: server-rendered pages, the JSON API under ``/api`` and its docs.

``create_app(settings)`` builds it; ``uvicorn --factory hub.web:create_app`` serves it.
Every route runs the one guard of :mod:`hub.web.auth` (an app-wide dependency).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError

from connectors.http import ApiError
from connectors.registry import UnknownKindError
from hub.platform.db import get_engine
from hub.platform.errors import CashrailError
from hub.platform.redact import scrub
from hub.platform.served import UI_PATH
from hub.platform.settings import Settings, get_settings
from hub.web import api, form_errors, pages, prefect_ui
from hub.web.auth import CurrentActor, LoginLimiter, NotSignedInError, authorize
from hub.web.headers import add_security_headers
from hub.web.logs import keep_app_logging
from hub.web.render import HERE, back, page, redirect
from hub.web.sync_jobs import SyncJobs

log = logging.getLogger(__name__)

#: errors of the connectors (which know nothing of the hub) whose message is for the user
USER_ERRORS = (UnknownKindError,)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The admin web app over the hub store that ``settings`` names (default: the environment's)."""
    from swagger_ui_bundle import swagger_ui_path

    settings = settings or get_settings()
    get_engine(settings)  # upgrade the schema before the first request
    keep_app_logging()
    app = FastAPI(title="Cashrail admin API", version="0.1.0", docs_url=None, redoc_url=None,
                  openapi_url=None, dependencies=[Depends(authorize)],
                  description="Everything the Cashrail admin pages do, as JSON. Scripts authenticate with "
                              "`Authorization: Bearer <API token>` (create one on your Account page or with "
                              "`cashrail users token`) and choose the environment with `X-Cashrail-Environment`.")
    app.state.settings = settings
    app.state.sync_jobs = SyncJobs()
    app.state.login_limiter = LoginLimiter(settings)
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _add_error_handlers(app)
    add_security_headers(app)
    app.include_router(pages.session.router)
    app.include_router(_docs_routes(app))
    for area in pages.AREAS:
        app.include_router(area.router, include_in_schema=False)
    app.include_router(api.router, prefix="/api")
    app.include_router(prefect_ui.router)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api", f"{UI_PATH}/api"))


def _is_admin_form(request: Request) -> bool:
    """A POST from an admin page's form: a refusal goes back to the form (the API and the portal answer with a status)."""
    return (request.method == "POST" and not _is_api(request)
            and not request.url.path.startswith(pages.portal.PREFIX))


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedInError)
    async def not_signed_in(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=NotSignedInError.status,
                                headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(pages.portal.CodeRequired)
    async def code_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, pages.portal.CodeRequired)
        return RedirectResponse(f"{exc.base}/code", status_code=303)

    @app.exception_handler(CashrailError)  # a CSRF refusal too (403, shown on its own page)
    async def cashrail_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CashrailError)
        if not exc.user_facing:
            log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
            return _error(request, exc.status, "the hub could not finish this request; the server log says why")
        if exc.status != 403 and _is_admin_form(request):
            typed = await _typed(request)
            return _form_back(request, str(exc), form_errors.from_message(str(exc), await _names(request)), typed)
        return _error(request, exc.status, str(exc), flash_back=exc.status != 403)

    async def user_error(request: Request, exc: Exception) -> Response:
        return _error(request, 400, str(exc), flash_back=True)

    for kind in USER_ERRORS:
        app.add_exception_handler(kind, user_error)

    async def out_of_range(request: Request, _: Exception) -> Response:
        return _error(request, 400, "a value is out of range for the hub store (a number too large?)", flash_back=True)

    for overflow in (OverflowError, DataError):
        app.add_exception_handler(overflow, out_of_range)

    @app.exception_handler(IntegrityError)
    async def conflict(request: Request, _: Exception) -> Response:
        return _error(request, 409, "that conflicts with a record the hub already has (a name already used?)",
                      flash_back=True)

    @app.exception_handler(ApiError)
    async def remote(request: Request, exc: Exception) -> Response:
        return _error(request, 502, f"the remote system answered: {exc}", flash_back=True)

    @app.exception_handler(ValidationError)  # a page building its model from a form
    async def invalid_form(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        fields = form_errors.field_errors(exc.errors())
        if _is_admin_form(request):
            return _form_back(request, form_errors.summary(fields), fields, await _typed(request))
        return _error(request, 422, "Please correct: " + "; ".join(f"{k} {v}" for k, v in fields.items()))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p not in ('body', 'query', 'path'))}: {e['msg']}"
                    for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]}
                                            for e in exc.errors()]}, status_code=422)
        if _is_admin_form(request):
            fields = form_errors.field_errors(exc.errors())
            return _form_back(request, form_errors.summary(fields), fields, await _typed(request))
        return _error(request, 422, "Please correct: " + "; ".join(problems), flash_back=True)


async def _typed(request: Request) -> dict[str, str]:
    """What the refused form held (its text fields; the body was read once already and is kept)."""
    try:
        form = await request.form()
    except Exception:
        return {}
    return form_errors.kept_values({k: v for k, v in form.items() if isinstance(v, str)})


async def _names(request: Request) -> set[str]:
    """The refused form's field names, secret ones included (a password's problem is shown beside it too)."""
    try:
        return set((await request.form()).keys())
    except Exception:
        return set()


def _form_back(request: Request, message: str, fields: dict[str, str], values: dict[str, str]) -> Response:
    """Back to the refused form: the message above it, each field's problem beside it, the input kept."""
    return redirect(back(request), "error", scrub(message), fields={k: scrub(v) for k, v in fields.items()},
                    values={k: scrub(v) for k, v in values.items()})


def _error(request: Request, status: int, message: str, *, flash_back: bool = False) -> Response:
    message = scrub(message)  # a remote system's answer may echo a secret
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    if request.url.path.startswith(pages.portal.PREFIX):  # a customer: the portal's own page, no admin frame
        return pages.portal.error_page(request, status, message)
    if flash_back and request.method == "POST":
        return redirect(back(request), "error", message)
    actor = getattr(request.state, "actor", None)
    return page(request, actor, "error.html", status_code=status, status=status, message=message)


def _docs_routes(app: FastAPI) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/api/openapi.json")
    def openapi(_: CurrentActor) -> JSONResponse:
        if app.openapi_schema is None:
            # 3.0.3: the bundled Swagger UI (4.x) renders 3.0 documents; the schemas are the same
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes, openapi_version="3.0.3")
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token"}}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return JSONResponse(app.openapi_schema)

    @router.get("/api/docs", response_class=HTMLResponse)
    def docs(_: CurrentActor) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="Cashrail admin API",
                                   swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger/favicon-32x32.png")

    return router
