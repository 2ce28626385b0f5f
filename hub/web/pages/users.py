"""Pages: the users (Administrators) and the signed-in user's account with their API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import SecretStr

from hub.access import users
from hub.web import operations
from hub.web.auth import CurrentActor, needs
from hub.web.render import page, redirect
from hub.web.schemas import TokenIn, UserIn

router = APIRouter(default_response_class=HTMLResponse)


@router.get("/users", openapi_extra=needs("Users", "Update"))
def users_page(request: Request, actor: CurrentActor) -> Response:
    return page(request, actor, "users.html", rows=actor.call(users.list_users))


@router.post("/users", openapi_extra=needs("Users", "Create"))
def users_add(actor: CurrentActor, body: Annotated[UserIn, Form()]) -> Response:
    user = operations.create_user(actor, body)
    return redirect("/users", "ok", f"User {user.email} ({user.role}) added.")


@router.post("/users/{email}/role", openapi_extra=needs("Users", "Update Roles"))
def users_role(actor: CurrentActor, email: str, role: Annotated[str, Form()]) -> Response:
    actor.call(users.set_role, email, role)
    return redirect("/users", "ok", f"{email} is now {role}.")


@router.post("/users/{email}/activate", openapi_extra=needs("Users", "Activate"))
def users_activate(actor: CurrentActor, email: str) -> Response:
    actor.call(users.set_active, email, True)
    return redirect("/users", "ok", f"{email} can sign in again.")


@router.post("/users/{email}/deactivate", openapi_extra=needs("Users", "Deactivate"))
def users_deactivate(actor: CurrentActor, email: str) -> Response:
    actor.call(users.set_active, email, False)
    return redirect("/users", "ok", f"{email} is deactivated and signed out.")


@router.post("/users/{email}/delete", openapi_extra=needs("Users", "Delete"))
def users_delete(actor: CurrentActor, email: str) -> Response:
    actor.call(users.delete_user, email)
    return redirect("/users", "ok", f"User {email} deleted.")


# --- my account: API tokens ---------------------------------------------------------------------


def _account(request: Request, actor: CurrentActor, new_token: SecretStr | None = None) -> Response:
    return page(request, actor, "account.html", tokens=actor.call(users.tokens_of, actor.user_id),
                new_token=new_token.get_secret_value() if new_token else None)


@router.get("/account")
def account_page(request: Request, actor: CurrentActor) -> Response:
    return _account(request, actor)


@router.post("/account/tokens")
def token_create(request: Request, actor: CurrentActor, body: Annotated[TokenIn, Form()]) -> Response:
    _, plain = actor.call(users.create_token, actor.user_id, body.name)
    # shown once, in this response only: it is never stored nor put in a cookie
    return _account(request, actor, SecretStr(plain))


@router.post("/account/tokens/{token_id}/revoke")
def token_revoke(actor: CurrentActor, token_id: int) -> Response:
    actor.call(users.revoke_token, actor.user_id, token_id)
    return redirect("/account", "ok", "API token revoked.")
