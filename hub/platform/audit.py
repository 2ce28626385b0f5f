"""The audit log: who changed what, recorded in the same transaction as the change.

Services call :func:`record` with the entity and what changed; values under keys that name a
secret are redacted, so the log never holds a credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from hub.platform.models import AuditEntry
from hub.platform.redact import scrub

_SECRET_WORDS = ("password", "secret", "token", "key", "credential")
REDACTED = "***"


def _clean(value: Any, name: str = "") -> Any:
    if name and any(word in name.lower() for word in _SECRET_WORDS):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (Decimal, date, datetime)):
        return str(value)
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return scrub(str(value))


def record(
    s: Session,
    action: str,
    entity: str,
    entity_id: Any = None,
    *,
    actor: str | None = None,
    **detail: Any,
) -> AuditEntry:
    """Add an audit entry (``action`` e.g. "connector.edit") to the session's transaction.

    ``actor`` defaults to the session's ``info["actor"]`` (set by the CLI/web app), else "system".
    """
    entry = AuditEntry(
        actor=actor or s.info.get("actor") or "system",
        environment=s.info.get("environment"),
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        detail=_clean(detail),
    )
    s.add(entry)
    return entry


def entries(
    s: Session,
    *,
    entity: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """The newest entries of the session's environment (and those of none), newest first.

    ``since`` without a time zone is UTC.
    """
    query = select(AuditEntry)
    env = s.info.get("environment")
    if env is not None:
        query = query.where(or_(col(AuditEntry.environment) == env, col(AuditEntry.environment).is_(None)))
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        query = query.where(AuditEntry.at >= since)
    return list(s.exec(query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit)))


def as_dict(entry: AuditEntry) -> dict[str, Any]:
    """An entry as JSON-ready data (CLI --json, the API)."""
    return {"id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor, "environment": entry.environment,
            "action": entry.action, "entity": entry.entity, "entity_id": entry.entity_id, "detail": entry.detail}
