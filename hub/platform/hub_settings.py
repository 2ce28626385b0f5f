"""The hub's own settings per environment, stored as JSON sections (``hub_settings``).

Each owner validates its section (``collections``, ``dunning``, ``notifications``) into its
frozen rule objects; this module only reads and writes the JSON, once per environment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from hub.platform.models import HubSetting
from hub.platform.types import utcnow

SECTIONS = ("collections", "dunning", "notifications")


def _check(section: str) -> str:
    if section not in SECTIONS:
        raise ValueError(f"section: no settings section {section!r} (one of {', '.join(SECTIONS)})")
    return section


def get_section(s: Session, section: str) -> dict[str, Any]:
    """The stored JSON of ``section`` in the session's environment ({} when never set)."""
    row = s.execute(select(HubSetting).where(col(HubSetting.section) == _check(section))).scalar_one_or_none()
    return dict(row.value) if row is not None else {}


def put_section(s: Session, section: str, value: dict[str, Any], *, actor: str | None = None) -> None:
    """Replace ``section`` with ``value`` (already validated by its owner)."""
    row = s.execute(select(HubSetting).where(col(HubSetting.section) == _check(section))).scalar_one_or_none()
    if row is None:
        row = HubSetting(environment=s.info["environment"], section=section)
    row.value = dict(value)
    row.updated_by = actor
    row.updated_at = utcnow()
    s.add(row)
    s.flush()
