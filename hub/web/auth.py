"""Who is calling and may they: the one dependency every route of the app runs.

A caller is a browser session (cookie; unsafe methods must carry the session's CSRF token)
or a script (``Authorization: Bearer <API token>``). A route states what it does in the
seed-003 role table with ``openapi_extra=needs(feature, operation)`` (shown in the API docs
as ``x-permission``); routes without it are open to every signed-in user, and only routes
marked ``PUBLIC`` (the login form) are open to anonymous callers.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request
from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from hub.access import roles, users
from hub.access.roles import Role
from hub.platform import audit
from hub.platform.db import get_engine, session
from hub.platform.errors import CashrailError
from hub.platform.models import AuditEntry
from hub.platform.settings import ENVIRONMENTS, Settings
from hub.platform.types import utcnow

SESSION_COOKIE = "cashrail_session"
LOGIN_CSRF_COOKIE = "cashrail_login_csrf"
ENV_HEADER = "X-Cashrail-Environment"
CSRF_HEADER = "X-CSRF-Token"
PERMISSION = "x-permission"
PUBLIC: dict[str, Any] = {PERMISSION: "public"}
#: routes for Administrators only that a foreign page drives (the Prefect UI): it sends no CSRF
#: token, so an unsafe request must come from this app's own origin instead
ADMIN_SAME_ORIGIN: dict[str, Any] = {PERMISSION: "administrator, same origin"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
P = ParamSpec("P")
R = TypeVar("R")


def needs(feature: str, operation: str) -> dict[str, Any]:
    """Route metadata: the seed-003 (feature, operation) the route performs."""
    roles.allowed(Role.ADMINISTRATOR, feature, operation)  # a misspelt name fails at import
    return {PERMISSION: {"feature": feature, "operation": operation}}


class NotSignedInError(CashrailError):
    """No valid session or API token came with the request (pages send the caller to sign in)."""

    status = 401

    def __init__(self) -> None:
        super().__init__("sign in first: a session cookie or 'Authorization: Bearer <API token>'")


class CsrfError(CashrailError):
    """An unsafe request from a browser session without its CSRF token."""

    status = 403

    def __init__(self) -> None:
        super().__init__("The form's security token is missing or out of date: reload the page and try again "
                         "(API calls send it as X-CSRF-Token or use a bearer token).")


@dataclass(frozen=True)
class Actor:
    """The signed-in caller: their role and the environment they work in."""

    user_id: int
    email: str
    role: str
    environment: str
    settings: Settings
    csrf_token: str | None = None
    session_token: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMINISTRATOR.value

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A store session in the caller's environment, acting with the caller's role."""
        with session(self.environment, get_engine(self.settings), role=self.role) as s:
            s.info["actor"] = self.email
            yield s

    def call(self, service: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``service(session, *args, **kwargs)`` in one session of :meth:`session`; its result."""
        with self.session() as s:
            return service(s, *args, **kwargs)

    def may(self, feature: str, operation: str) -> bool:
        return roles.allowed(Role(self.role), feature, operation, environment=self.environment)


class LoginLimiter:
    """At most ``limit`` failed sign-ins per account and ``address_limit`` per client address
    within ``window`` seconds: a password spray across many accounts from one address, or at
    one account from many addresses, is slowed as much as guessing one pair.

    Attempts are audit-log entries in the hub store, so every worker and process counts the
    same failures. A successful sign-in starts the account's count again (not the address's: one
    account of the sprayer's own must not reset it); a refusal is audited as ``login.throttled``.
    """

    FAILED, SUCCEEDED, THROTTLED = "login.failed", "login.succeeded", "login.throttled"

    def __init__(self, settings: Settings, limit: int = 5, window: float = 60.0, address_limit: int = 20,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.settings, self.limit, self.window, self.clock = settings, limit, timedelta(seconds=window), clock
        self.address_limit = address_limit

    @staticmethod
    def _key(email: str, address: str) -> tuple[str, str]:
        return email.strip().lower()[:255], address[:64]

    def _wait(self, s: Session, now: datetime, limit: int, since: datetime, *where: Any) -> int:
        stamps: list[datetime] = list(s.execute(select(col(AuditEntry.at)).where(
            col(AuditEntry.action) == self.FAILED, col(AuditEntry.at) > since, *where,
        ).order_by(col(AuditEntry.at).desc()).limit(limit)).scalars())
        if len(stamps) < limit:
            return 0
        return max(1, math.ceil((self.window - (now - stamps[-1])).total_seconds()))

    def retry_after(self, email: str, address: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now); a refusal is audited."""
        who, where = self._key(email, address)
        now = self.clock()
        with session(ENVIRONMENTS[0], get_engine(self.settings)) as s:
            last_success = s.execute(select(func.max(AuditEntry.at)).where(
                col(AuditEntry.action) == self.SUCCEEDED, col(AuditEntry.actor) == who)).scalar()
            since = max(now - self.window, last_success) if last_success else now - self.window
            wait = max(self._wait(s, now, self.limit, since, col(AuditEntry.actor) == who),
                       self._wait(s, now, self.address_limit, now - self.window, col(AuditEntry.entity_id) == where))
            if wait:
                audit.record(s, self.THROTTLED, "login", where, actor=who, retry_after=wait).at = now
        return wait

    def _note(self, action: str, email: str, address: str) -> None:
        who, where = self._key(email, address)
        with session(ENVIRONMENTS[0], get_engine(self.settings)) as s:
            audit.record(s, action, "login", where, actor=who).at = self.clock()

    def failed(self, email: str, address: str) -> None:
        self._note(self.FAILED, email, address)

    def succeeded(self, email: str, address: str) -> None:
        self._note(self.SUCCEEDED, email, address)


def client_address(request: Request, settings: Settings) -> str:
    """The caller's address: the socket's peer, or — only when that peer is a configured trusted
    proxy (``CASHRAIL_TRUSTED_PROXIES``) — the nearest address in ``X-Forwarded-For`` that is not
    one of those proxies (everything further left was written by the caller and proves nothing)."""
    peer = request.client.host if request.client else "?"
    trusted = set(settings.trusted_proxies)
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return peer


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def _identify(request: Request, settings: Settings) -> Actor | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    with session(ENVIRONMENTS[0], get_engine(settings)) as s:
        if scheme.lower() == "bearer" and credentials.strip():
            user = users.user_for_token(s, credentials.strip())
            if user is None or user.id is None:
                return None
            environment = request.headers.get(ENV_HEADER, settings.environment)
            if environment not in ENVIRONMENTS:
                environment = "invalid"
            return Actor(user.id, user.email, user.role, environment, settings)
        cookie = request.cookies.get(SESSION_COOKIE)
        live = users.signed_in(s, cookie) if cookie else None
    if live is None:
        return None
    return Actor(live.user_id, live.email, live.role, live.environment, settings, live.csrf_token, cookie)


async def _submitted_csrf(request: Request) -> str:
    token = request.headers.get(CSRF_HEADER)
    if token:
        return token
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


async def authorize(request: Request) -> Actor | None:
    """The app's one guard: sign-in, CSRF on unsafe browser requests, the route's role rule."""
    route = request.scope.get("route")
    permission = (getattr(route, "openapi_extra", None) or {}).get(PERMISSION)
    if permission == PUBLIC[PERMISSION]:
        return None
    settings: Settings = request.app.state.settings
    actor = await run_in_threadpool(_identify, request, settings)
    if actor is None:
        raise NotSignedInError()
    if actor.environment not in ENVIRONMENTS:
        raise users.UserError(f"{ENV_HEADER} must be one of {', '.join(ENVIRONMENTS)}")
    if permission == ADMIN_SAME_ORIGIN[PERMISSION]:
        _require_admin_same_origin(request, actor)
    elif actor.session_token is not None and request.method not in SAFE_METHODS:
        submitted = await _submitted_csrf(request)
        if not (submitted and actor.csrf_token and secrets.compare_digest(submitted, actor.csrf_token)):
            raise CsrfError()
    if isinstance(permission, dict):
        roles.authorize(Role(actor.role), permission["feature"], permission["operation"],
                        environment=actor.environment)
    request.state.actor = actor
    return actor


def _require_admin_same_origin(request: Request, actor: Actor) -> None:
    if not actor.is_admin:
        raise roles.NotAllowedError(f"the {actor.role} role may not open the Prefect UI and API; "
                                    "ask an administrator")
    if actor.session_token is None or request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    expected = f"{request.url.scheme}://{request.url.netloc}"
    if not (origin == expected or origin.startswith(expected + "/")):
        raise CsrfError()


async def current_actor(request: Request, _: Annotated[Actor | None, Depends(authorize)]) -> Actor:
    """The signed-in caller of a non-public route (the guard has already run)."""
    actor: Actor = request.state.actor
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
