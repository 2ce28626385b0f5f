"""Users of the admin web app and API: accounts and roles (seed 003), API tokens, browser sessions.

Passwords are hashed with Argon2id; API tokens and session tokens are random and only their
SHA-256 is stored, so a copy of the database signs nobody in. Every change is checked against
the seed's role table through the acting session's role, like the billing operations.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func
from sqlmodel import Session, col, select
from zxcvbn import zxcvbn

from hub.access.roles import Role, allow
from hub.platform import audit
from hub.platform.errors import InputError
from hub.platform.models import ApiToken, User, WebSession, stored_id
from hub.platform.settings import ENVIRONMENTS
from hub.platform.types import utcnow

MIN_PASSWORD_LENGTH = 12
#: zxcvbn's score (0-4) a password must reach: below 3 it is a breached or common password, a
#: keyboard walk, a repeat or a date (its lists come from real password breaches)
MIN_PASSWORD_SCORE = 3
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "crl_"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_hasher = PasswordHasher()
# Verifying against this when the e-mail is unknown keeps a failed login's timing the same.
_DUMMY_HASH = _hasher.hash("no user has this password")


class UserError(InputError):
    """A user request that cannot be honoured, in plain words."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _role(role: str) -> str:
    for known in Role:
        if known.value.casefold() == role.strip().casefold():
            return known.value
    raise UserError(f"role must be Administrator or User, not {role!r}")


def check_password(password: str | None, email: str = "") -> str:
    """``password`` if the policy takes it: at least 12 characters, not a breached or common
    password nor built from one (zxcvbn), not made of the e-mail address.

    Raises:
        UserError: naming what is wrong and how to choose better.
    """
    if not isinstance(password, str) or not password:
        raise UserError("a password is required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    verdict = zxcvbn(password[:100], user_inputs=[email, *re.split(r"[@.]", email)] if email else [])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        why = verdict["feedback"]["warning"] or "it is built from common passwords, words or patterns"
        raise UserError(f"the password is too easy to guess ({why.rstrip('.').lower()}): "
                        "a few unrelated words make a strong one")
    return password


def _by_email(s: Session, email: str) -> User | None:
    return s.exec(select(User).where(func.lower(User.email) == email.strip().lower())).first()


def get_user(s: Session, email: str) -> User:
    user = _by_email(s, email)
    if user is None:
        raise UserError(f"no user {email!r}")
    return user


def list_users(s: Session) -> list[User]:
    return list(s.exec(select(User).order_by(col(User.email))))


def create_user(s: Session, email: str, password: str, role: str = "User", name: str | None = None) -> User:
    """A new active user; the e-mail is the sign-in name (case ignored)."""
    allow(s, "Users", "Create")
    email = email.strip()
    if not _EMAIL.match(email):
        raise UserError(f"{email!r} is not an e-mail address")
    check_password(password, email)
    if _by_email(s, email) is not None:
        raise UserError(f"a user {email!r} already exists")
    user = User(email=email, name=name or None, role=_role(role), password_hash=_hasher.hash(password))
    s.add(user)
    s.flush()
    audit.record(s, "user.create", "user", email, after={"role": user.role, "name": user.name})
    return user


def _active_admins(s: Session) -> int:
    return s.exec(select(func.count()).select_from(User).where(
        col(User.role) == Role.ADMINISTRATOR.value, col(User.is_active).is_(True))).one()


def _keep_an_admin(s: Session, user: User) -> None:
    if user.role == Role.ADMINISTRATOR.value and user.is_active and _active_admins(s) <= 1:
        raise UserError(f"{user.email} is the last active Administrator; make another user Administrator first")


def set_role(s: Session, email: str, role: str) -> User:
    allow(s, "Users", "Update Roles")
    user, role = get_user(s, email), _role(role)
    if role != user.role:
        _keep_an_admin(s, user)
        audit.record(s, "user.set_role", "user", user.email, before={"role": user.role}, after={"role": role})
        _revoke_all_tokens(s, user, "role change")  # a script keeps no power granted for another role
    user.role, user.updated_at = role, utcnow()
    s.add(user)
    return user


def set_active(s: Session, email: str, active: bool) -> User:
    """Activate or deactivate a user; a deactivated user's sessions end at once."""
    allow(s, "Users", "Activate" if active else "Deactivate")
    user = get_user(s, email)
    if not active:
        _keep_an_admin(s, user)
        s.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
    if active != user.is_active:
        audit.record(s, "user.activate" if active else "user.deactivate", "user", user.email)
    user.is_active, user.updated_at = active, utcnow()
    s.add(user)
    return user


def set_password(s: Session, email: str, password: str) -> User:
    """A new password; the user's sessions and API tokens end (whoever held them must sign in again)."""
    allow(s, "Users", "Update")
    user = get_user(s, email)
    check_password(password, user.email)
    user.password_hash, user.updated_at = _hasher.hash(password), utcnow()
    s.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
    audit.record(s, "user.set_password", "user", user.email)
    _revoke_all_tokens(s, user, "password reset")
    s.add(user)
    return user


def delete_user(s: Session, email: str) -> None:
    """Remove a user with their tokens and sessions."""
    allow(s, "Users", "Delete")
    user = get_user(s, email)
    _keep_an_admin(s, user)
    s.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
    s.exec(delete(ApiToken).where(col(ApiToken.user_id) == user.id))
    s.delete(user)
    s.flush()
    audit.record(s, "user.delete", "user", user.email, before={"role": user.role})


def authenticate(s: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same work either way)."""
    user = _by_email(s, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        s.add(user)
    return user


# --- API tokens -----------------------------------------------------------------------------


def create_token(s: Session, user_id: int, name: str) -> tuple[ApiToken, str]:
    """A new bearer token for a user's scripts; the plain token is returned once, never stored."""
    if not name.strip():
        raise UserError("the token needs a name (what script uses it)")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, name=name.strip()[:100], token_hash=_digest(plain), prefix=plain[:10])
    s.add(token)
    s.flush()
    audit.record(s, "api_token.create", "api_token", token.id, user_id=user_id, name=token.name)
    return token, plain


def tokens_of(s: Session, user_id: int) -> list[ApiToken]:
    return list(s.exec(select(ApiToken).where(col(ApiToken.user_id) == user_id).order_by(col(ApiToken.id))))


def _revoke_all_tokens(s: Session, user: User, reason: str) -> None:
    gone = s.exec(delete(ApiToken).where(col(ApiToken.user_id) == user.id))
    if gone.rowcount:
        audit.record(s, "api_token.revoke_all", "user", user.email, count=gone.rowcount, reason=reason)


def revoke_token(s: Session, user_id: int, token_id: int) -> None:
    gone = s.exec(delete(ApiToken).where(col(ApiToken.id) == token_id, col(ApiToken.user_id) == user_id))
    if not gone.rowcount:
        raise UserError(f"you have no API token {token_id}")
    audit.record(s, "api_token.revoke", "api_token", token_id, user_id=user_id)


def user_for_token(s: Session, plain: str) -> User | None:
    token = s.exec(select(ApiToken).where(col(ApiToken.token_hash) == _digest(plain))).first()
    if token is None:
        return None
    user = s.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    token.last_used_at = utcnow()
    s.add(token)
    return user


# --- browser sessions -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A live browser session: who, in which environment, and its CSRF token."""

    user_id: int
    email: str
    role: str
    environment: str
    csrf_token: str


def open_session(s: Session, user: User, environment: str) -> str:
    """Start a browser session; returns the cookie value (only its hash is stored)."""
    if environment not in ENVIRONMENTS:
        environment = ENVIRONMENTS[0]
    plain = secrets.token_urlsafe(32)
    now = utcnow()
    s.exec(delete(WebSession).where(col(WebSession.expires_at) < now))
    s.add(WebSession(user_id=stored_id(user), token_hash=_digest(plain), csrf_token=secrets.token_urlsafe(32),
                     environment=environment, expires_at=now + SESSION_LIFETIME))
    s.flush()
    return plain


def signed_in(s: Session, plain: str, now: datetime | None = None) -> SignedIn | None:
    """The session behind a cookie value, if it is live and its user active."""
    row = s.exec(select(WebSession).where(col(WebSession.token_hash) == _digest(plain))).first()
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    user = s.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return SignedIn(stored_id(user), user.email, user.role, row.environment, row.csrf_token)


def switch_environment(s: Session, plain: str, environment: str) -> None:
    if environment not in ENVIRONMENTS:
        raise UserError(f"environment must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
    row = s.exec(select(WebSession).where(col(WebSession.token_hash) == _digest(plain))).first()
    if row is not None:
        row.environment = environment
        s.add(row)


def close_session(s: Session, plain: str) -> None:
    s.exec(delete(WebSession).where(col(WebSession.token_hash) == _digest(plain)))
