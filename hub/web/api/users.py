"""Users: who the caller is, the users (Administrators) and the caller's own API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hub.access import users
from hub.platform.models import ApiToken, User
from hub.web import operations
from hub.web.api.common import NO_CONTENT, Json, no_content
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import TokenIn, UserEditIn, UserIn

router = APIRouter(tags=["users"])


@router.get("/me")
def me(actor: CurrentActor) -> Json:
    """Who the caller is, their role and environment."""
    return {"email": actor.email, "role": actor.role, "environment": actor.environment}


def _user(u: User) -> Json:
    return {"email": u.email, "name": u.name, "role": u.role, "active": u.is_active, "created": u.created_at.isoformat()}


@router.get("/users", openapi_extra=needs("Users", "Update"))
def list_users(actor: CurrentActor) -> list[Json]:
    return [_user(u) for u in actor.call(users.list_users)]


@router.post("/users", status_code=201, openapi_extra=needs("Users", "Create"))
def create_user(actor: CurrentActor, body: UserIn) -> Json:
    return _user(operations.create_user(actor, body))


@router.patch("/users/{email}", openapi_extra=needs("Users", "Update"))
def edit_user(actor: CurrentActor, email: str, body: UserEditIn) -> Json:
    """Change a user's role, activate or deactivate them, or set a new password."""
    with actor.session() as s:
        if body.role is not None:
            users.set_role(s, email, body.role)
        if body.active is not None:
            users.set_active(s, email, body.active)
        if body.password is not None:
            users.set_password(s, email, body.password.get_secret_value())
        return _user(users.get_user(s, email))


@router.delete("/users/{email}", status_code=NO_CONTENT, openapi_extra=needs("Users", "Delete"))
def delete_user(actor: CurrentActor, email: str) -> Response:
    actor.call(users.delete_user, email)
    return no_content()


def _token(t: ApiToken) -> Json:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "created": t.created_at.isoformat(),
            "last_used": t.last_used_at.isoformat() if t.last_used_at else None}


@router.get("/tokens")
def list_tokens(actor: CurrentActor) -> list[Json]:
    """The caller's own API tokens (never their values)."""
    return [_token(t) for t in actor.call(users.tokens_of, actor.user_id)]


@router.post("/tokens", status_code=201)
def create_token(actor: CurrentActor, body: TokenIn) -> Json:
    """A new API token for the caller; its value is in this answer only."""
    token, plain = actor.call(users.create_token, actor.user_id, body.name)
    return {**_token(token), "token": plain}


@router.delete("/tokens/{token_id}", status_code=NO_CONTENT)
def revoke_token(actor: CurrentActor, token_id: int) -> Response:
    actor.call(users.revoke_token, actor.user_id, token_id)
    return no_content()
