"""Signing in and out, and the environment switch in the top right corner."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hub.access import users
from hub.platform.db import get_engine, session
from hub.platform.settings import ENVIRONMENTS, Settings
from hub.web.auth import (
    LOGIN_CSRF_COOKIE,
    PUBLIC,
    SESSION_COOKIE,
    CsrfError,
    CurrentActor,
    LoginLimiter,
    client_address,
    new_csrf_token,
)
from hub.web.render import back, local_path, page, redirect

router = APIRouter(include_in_schema=False)


@router.get("/login", openapi_extra=PUBLIC, response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_csrf_token()
    response = page(request, None, "login.html", csrf_token=token, next=local_path(next))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/login", openapi_extra=PUBLIC, response_class=HTMLResponse)
async def login(request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()],
                csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (expected and csrf_token and secrets.compare_digest(expected, csrf_token)):
        raise CsrfError()
    limiter: LoginLimiter = request.app.state.login_limiter
    address = client_address(request, request.app.state.settings)
    wait = await run_in_threadpool(limiter.retry_after, email, address)
    if wait:
        refused = page(request, None, "login.html", status_code=429, csrf_token=expected, next=local_path(next),
                       email=email, error=f"Too many failed sign-ins for this account or from your address: "
                                          f"try again in {wait} seconds.")
        refused.headers["Retry-After"] = str(wait)
        return refused
    settings: Settings = request.app.state.settings

    def check() -> str | None:
        with session(ENVIRONMENTS[0], get_engine(settings)) as s:
            user = users.authenticate(s, email, password)
            return None if user is None else users.open_session(s, user, settings.environment)

    token = await run_in_threadpool(check)
    if token is None:
        limiter.failed(email, address)
        return page(request, None, "login.html", status_code=401, csrf_token=expected, next=local_path(next),
                    email=email, error="Wrong e-mail or password (or the account is deactivated).")
    limiter.succeeded(email, address)
    response = RedirectResponse(local_path(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=int(users.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(actor: CurrentActor) -> Response:
    actor.call(users.close_session, actor.session_token or "")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/environment")
def switch_environment(request: Request, actor: CurrentActor, environment: Annotated[str, Form()]) -> Response:
    """The environment switch in the top right corner: the rest of the session works in it."""
    if actor.session_token is None:
        raise users.UserError("API callers choose the environment with the X-Cashrail-Environment header")
    actor.call(users.switch_environment, actor.session_token, environment)
    return redirect(back(request), "ok", f"Now working in {environment}.")
