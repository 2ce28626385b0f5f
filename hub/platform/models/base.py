"""The mixin of environment-scoped rows, and the hub's own tables: settings sections, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.platform.types import UTCDateTime, utcnow


class EnvScoped(SQLModel):
    """Mixin: the row belongs to one environment (sandbox or production)."""

    environment: str = Field(max_length=16, index=True)


class HubSetting(EnvScoped, table=True):
    """One section of the hub's own settings per environment, as JSON validated by its owner.

    Sections: ``collections`` (charge timing, retry policy), ``dunning`` (overdue levels,
    penalty), ``notifications`` (per-type e-mail/ticket switches, ticket configuration).
    """

    __tablename__ = "hub_settings"
    __table_args__ = (UniqueConstraint("environment", "section", name="uq_hub_setting_section"),)

    id: int | None = Field(default=None, primary_key=True)
    section: str = Field(max_length=32)
    value: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_by: str | None = Field(default=None, max_length=255)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who changed what (connector settings, plans, actions, users, payment methods, settings).

    Values are recorded with secrets redacted."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=255)
    environment: str | None = Field(default=None, max_length=16, index=True)
    action: str = Field(max_length=64)  # e.g. connector.edit, plan.publish, user.create
    entity: str = Field(max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
