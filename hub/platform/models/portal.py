"""The customer portal's own rows: each customer's link version (revocation) and one-time codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from hub.platform.models.base import EnvScoped
from hub.platform.types import UTCDateTime, utcnow


class PortalAccess(EnvScoped, table=True):
    """A customer's portal links: every link carries the version it was signed with, so raising
    ``link_version`` revokes every link handed out before (no list of links is kept)."""

    __tablename__ = "portal_access"
    __table_args__ = (UniqueConstraint("environment", "organisation_id", name="uq_portal_access_organisation"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    link_version: int = Field(default=0)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=255)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PortalCode(EnvScoped, table=True):
    """A one-time code e-mailed to a contact of the customer (only its hash is kept)."""

    __tablename__ = "portal_codes"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    contact_id: int = Field(foreign_key="contacts.id")
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
