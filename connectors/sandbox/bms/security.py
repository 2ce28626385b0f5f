"""The BMS sandbox's sign-in: password grant and refresh tokens."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .state import SandboxState
from .wire import ApiError, field_error, form_body, ok


def register(app: FastAPI, state: SandboxState) -> None:
    """``POST /v2/security/authenticate`` (password grant) and ``/refreshtoken`` (single use)."""

    @app.post("/v2/security/authenticate")
    async def authenticate(request: Request) -> JSONResponse:
        form = await form_body(request)
        if form.get("granttype", "password").lower() != "password":
            raise field_error("grantType", "grantType must be 'password'")
        if (form.get("tenant", "").strip().lower() != state.company.lower()
                or form.get("username", "").strip().lower() != state.username.lower()
                or form.get("password", "") != state.password):
            echo = (f" (tenant {form.get('tenant', '')!r}, user {form.get('username', '')!r}, "
                    f"password {form.get('password', '')!r})") if state.faults.echo_credentials else ""
            raise ApiError(401, "InvalidCredentials", f"Invalid tenant, user name or password{echo}")
        if "Admin: Has API Access" not in state.permissions:
            raise ApiError(403, "ApiAccessDenied", "User does not have API access")
        return ok(state.issue_tokens())

    @app.post("/v2/security/refreshtoken")
    async def refresh(request: Request) -> JSONResponse:
        form = await form_body(request)
        if not state.use_refresh(form.get("refreshtoken", "")):
            raise ApiError(401, "InvalidRefreshToken", "Refresh token is invalid or expired")
        return ok(state.issue_tokens())
