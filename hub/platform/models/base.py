"""The mixin of environment-scoped rows, the hub's own tables (settings sections, the audit log),
and two typed accessors every table needs: a stored row's id and a model's Core table."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import JSON, Table, UniqueConstraint
from sqlalchemy.orm import class_mapper
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


class _Keyed(Protocol):
    id: int | None


def stored_id(row: _Keyed) -> int:
    """The primary key of a row loaded from the store or flushed to it.

    Models type ``id`` as optional because a new row has none until it is flushed; every row
    read back has one, so this only fails on a row that was never flushed (a bug).
    """
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: it was never flushed")
    return row.id


@cache
def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a ``table=True`` model (SQLModel does not declare ``__table__``)."""
    table = class_mapper(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table
