"""FastAPI app simulating Microsoft Entra ID (client credentials) and the Business Central
API v2.0, plus sandbox-only ``/_admin`` controls.

URL layout (``{url}`` = ``https://127.0.0.1:PORT``):

* identity: ``{url}/{tenant}/v2.0/.well-known/openid-configuration``,
  ``{url}/{tenant}/.well-known/openid-configuration`` (v1), ``POST {url}/{tenant}/oauth2/v2.0/token``
  (``scope``), ``POST {url}/{tenant}/oauth2/token`` (v1, ``resource``),
  ``GET {url}/common/discovery/instance`` (for msal's ``instance_discovery=<url>``).
* environments: ``GET {url}/environments/v1.2``.
* API: ``{url}/v2.0/{tenant}/{environment}/api/v2.0/...`` (also ``{url}/v2.0/{environment}/api/v2.0/...``,
  tenant from the token), i.e. the real host replaced by ``{url}``.

The BC API goes through one dispatcher (``BcApi.dispatch``) so ``$batch`` runs the very same
code per operation.  Faults, concurrency limits and counters live in the ASGI wrapper.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.net import answer_errors

from .admin import register_admin
from .api import BcApi
from .faults import BcSandboxApp
from .identity import register_identity
from .state import BcState
from .wire import BcError, BcJSON, Ctx, dumps, error_response

__all__ = ["BcApi", "BcSandboxApp", "create_app", "dumps"]


def _routing_error(status: int, detail: str) -> BcError:
    """A request no route answers, as the API words it."""
    if status == 404:
        return BcError(404, "BadRequest_NotFound", "The request URI is not valid.")
    return BcError(status, "BadRequest", detail)


def create_app(state: BcState, public_url: Callable[[], str] | None = None) -> BcSandboxApp:
    """Build the app around one tenant state (kept on ``app.sandbox``; API logic on ``app.api``)."""
    app = BcSandboxApp(title="Business Central sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.sandbox = state
    api = BcApi(state)
    app.api = api

    answer_errors(app, BcError, error_response, _routing_error)

    def origin(request: Request) -> str:
        return public_url() if public_url else str(request.base_url).rstrip("/")

    def tenant_ok(tenant: str) -> bool:
        return tenant.lower() == state.tenant_id.lower()

    register_identity(app, state, origin)

    # --- BC API ---------------------------------------------------------------------
    def authenticate(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        scheme, _, tok = auth.partition(" ")
        client = state.token_client(tok.strip()) if scheme.lower() == "bearer" and tok.strip() else None
        if client is None:
            base = origin(request)
            raise BcError(401, "Authentication_InvalidCredentials",
                          "The server has rejected the client credentials.",
                          {"WWW-Authenticate": f'Bearer authorization_uri="{base}/{state.tenant_id}/oauth2/'
                                               f'authorize", error="invalid_token"'})
        if not state.allow_request(client):
            with state.lock:
                state.stats.throttled["rate_limit"] += 1
            headers = ({"Retry-After": str(state.retry_after_on_429)}
                       if state.retry_after_on_429 is not None else {})
            limit = state.rate_limit[0]
            raise BcError(429, "Application_TooManyRequests",
                          f"Too many requests reached. Actual ({limit + 1}). Maximum ({limit}).", headers)
        return client

    @app.get("/environments/v1.2")
    async def environments(request: Request) -> JSONResponse:
        authenticate(request)
        base = origin(request)
        env = state.environment
        return BcJSON({"value": [{
            "aadTenantId": state.tenant_id, "applicationFamily": "BusinessCentral",
            "type": "Sandbox" if "sandbox" in env.lower() else "Production", "name": env, "countryCode": "US",
            "applicationVersion": state.SYSTEM_VERSION, "status": "Active",
            "webClientLoginUrl": f"{base}/{state.tenant_id}/{env}",
            "webServiceUrl": f"{base}/v2.0/{state.tenant_id}/{env}/api/v2.0",
        }]})

    async def api_call(request: Request, tenant: str | None, environment: str, rest: str) -> Response:
        client = authenticate(request)
        if tenant is not None and not tenant_ok(tenant):
            raise BcError(401, "Authentication_InvalidCredentials",
                          f"The tenant '{tenant}' does not match the tenant of the access token.")
        if environment.lower() != state.environment.lower():
            raise BcError(404, "NoEnvironment", f"Environment '{environment}' does not exist for tenant "
                                                f"'{state.tenant_id}'.")
        scope = f"{tenant}/{environment}" if tenant is not None else environment
        base = f"{origin(request)}/v2.0/{scope}/api/v2.0"
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = dict(request.query_params)
        resp = api.dispatch(Ctx(client, base), request.method, rest, query, headers, await request.body())
        return resp.to_response()

    methods = ["GET", "POST", "PATCH", "DELETE", "PUT"]

    @app.api_route("/v2.0/{tenant}/{environment}/api/v2.0/{rest:path}", methods=methods)
    async def api_tenant(tenant: str, environment: str, rest: str, request: Request) -> Response:
        return await api_call(request, tenant, environment, rest)

    @app.api_route("/v2.0/{environment}/api/v2.0/{rest:path}", methods=methods)
    async def api_no_tenant(environment: str, rest: str, request: Request) -> Response:
        return await api_call(request, None, environment, rest)

    register_admin(app, state, api)
    return app
