"""The Entra ID half of the BC sandbox: OpenID discovery and client-credentials tokens (v1 and v2)."""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .data import BC_RESOURCE, fmt_dt
from .state import BcState


def _aad_error(status: int, error: str, code: str, description: str, state: BcState) -> JSONResponse:
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    now = fmt_dt(datetime.now(UTC))
    return JSONResponse({
        "error": error,
        "error_description": f"{code}: {description} Trace ID: {trace} Correlation ID: {corr} "
                             "Timestamp: " + now[:19].replace("T", " ") + "Z",
        "error_codes": [int(code[6:])], "timestamp": now[:19].replace("T", " ") + "Z", "trace_id": trace, "correlation_id": corr,
        "error_uri": f"https://login.microsoftonline.com/error?code={code[6:]}",
    }, status_code=status)


def register_identity(app: FastAPI, state: BcState, origin: Callable[[Request], str]) -> None:
    """OpenID configuration (v1, v2), instance discovery and the token endpoints of ``state``'s tenant."""

    def tenant_ok(tenant: str) -> bool:
        return tenant.lower() == state.tenant_id.lower()

    def oidc(request: Request, tenant: str, v2: bool) -> JSONResponse:
        if not tenant_ok(tenant):
            return _aad_error(400, "invalid_tenant", "AADSTS90002",
                              f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                              "and are signing into the correct cloud.", state)
        base, t = origin(request), state.tenant_id
        ver = "/v2.0" if v2 else ""
        return JSONResponse({
            "token_endpoint": f"{base}/{t}/oauth2{ver}/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{t}/discovery{ver}/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{t}/v2.0" if v2 else f"{base}/{t}/",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{t}/oauth2{ver}/authorize",
            "device_authorization_endpoint": f"{base}/{t}/oauth2{ver}/devicecode",
            "http_logout_supported": True, "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{t}/oauth2{ver}/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "ver"],
            "kerberos_endpoint": f"{base}/{t}/kerberos",
            "tenant_region_scope": "NA", "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        })

    @app.get("/{tenant}/v2.0/.well-known/openid-configuration")
    async def oidc_v2(tenant: str, request: Request) -> JSONResponse:
        return oidc(request, tenant, True)

    @app.get("/{tenant}/.well-known/openid-configuration")
    async def oidc_v1(tenant: str, request: Request) -> JSONResponse:
        return oidc(request, tenant, False)

    @app.get("/common/discovery/instance")
    async def instance_discovery(request: Request) -> JSONResponse:
        base = origin(request)
        host = base.split("://", 1)[1]
        return JSONResponse({"tenant_discovery_endpoint":
                             f"{base}/{state.tenant_id}/v2.0/.well-known/openid-configuration",
                             "api-version": "1.1",
                             "metadata": [{"preferred_network": host, "preferred_cache": host,
                                           "aliases": [host]}]})

    async def token(tenant: str, request: Request, v2: bool) -> JSONResponse:
        if not tenant_ok(tenant):
            return _aad_error(400, "invalid_request", "AADSTS90002",
                              f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                              "and are signing into the correct cloud.", state)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _aad_error(400, "unsupported_grant_type", "AADSTS70003",
                              f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.", state)
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # client_secret_basic
            with contextlib.suppress(ValueError):
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if not client_id:
            return _aad_error(400, "invalid_request", "AADSTS900144",
                              "The request body must contain the following parameter: 'client_id'.", state)
        if client_id not in state.apps:
            return _aad_error(400, "unauthorized_client", "AADSTS700016",
                              f"Application with identifier '{client_id}' was not found in the directory "
                              f"'{state.tenant_id}'.", state)
        if not secret:
            return _aad_error(401, "invalid_client", "AADSTS7000216",
                              "'client_assertion', 'client_secret' or 'request' is required for the "
                              "'client_credentials' grant type.", state)
        if secret != state.apps[client_id]:
            return _aad_error(401, "invalid_client", "AADSTS7000215",
                              "Invalid client secret provided. Ensure the secret being sent in the request is the "
                              f"client secret value, not the client secret ID, for a secret added to app "
                              f"'{client_id}'." + (f" (sent client_secret {secret!r})"
                                                   if state.faults.echo_credentials else ""), state)
        allowed = {BC_RESOURCE, BC_RESOURCE + "/"}  # Business Central's audience, whatever host serves its API
        if v2:
            scopes = form.get("scope", "").split()
            if not scopes or not all(s.endswith("/.default") for s in scopes):
                return _aad_error(400, "invalid_scope", "AADSTS1002012",
                                  f"The provided value for scope {form.get('scope', '')} is not valid. Client "
                                  "credential flows must have a scope value with /.default suffixed to the "
                                  "resource identifier (application ID URI).", state)
            resources = [s[: -len("/.default")] for s in scopes]
        else:
            resources = [form.get("resource", "")]
        bad_res = [r for r in resources if r not in allowed]
        if bad_res:
            return _aad_error(400, "invalid_resource", "AADSTS500011",
                              f"The resource principal named {bad_res[0]} was not found in the tenant named "
                              f"{state.tenant_id}.", state)
        issued = state.issue_token(client_id)
        body = {"token_type": "Bearer", "expires_in": issued["expires_in"],
                "ext_expires_in": issued["expires_in"], "access_token": issued["token"]}
        if not v2:
            body["resource"] = resources[0]
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/{tenant}/oauth2/v2.0/token")
    async def token_v2(tenant: str, request: Request) -> JSONResponse:
        return await token(tenant, request, True)

    @app.post("/{tenant}/oauth2/token")
    async def token_v1(tenant: str, request: Request) -> JSONResponse:
        return await token(tenant, request, False)
