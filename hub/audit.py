"""The audit log: who changed what, recorded in the same transaction as the change.

Services call :func:`record` with the entity and what changed; values under keys that name a
secret are redacted, so the log never holds a credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlmodel import Session

from hub.models import AuditEntry

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
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


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
