"""Users of the admin web app and API (seed 003 roles), their tokens and sessions.

Users span both environments (the environment is chosen per web session), so these tables
are not environment-scoped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from hub.platform.types import UTCDateTime, utcnow


class User(SQLModel, table=True):
    """A person signing in to the admin web app; ``role`` is Administrator or User (seed 003)."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=255, unique=True)
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(default="User", max_length=16)
    is_active: bool = True
    password_hash: str = Field(sa_type=Text, repr=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts, acting as its user; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, repr=False)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the store its SHA-256."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, repr=False)
    csrf_token: str = Field(max_length=64, repr=False)
    environment: str = Field(default="sandbox", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
