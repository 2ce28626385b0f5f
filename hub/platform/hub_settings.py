"""The hub's own settings per environment, stored as JSON sections (``hub_settings``).

Each owner validates its section (``billing``, ``collections``, ``dunning``, ``notifications``,
``documents``, ``portal``, ``mail``) into its frozen rule objects; this module only reads and writes the JSON, once per
environment.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from hub.platform.models import HubSetting
from hub.platform.types import utcnow

SECTIONS = ("billing", "collections", "dunning", "notifications", "receivable", "documents", "portal", "mail")


def _check(section: str) -> str:
    if section not in SECTIONS:
        raise ValueError(f"section: no settings section {section!r} (one of {', '.join(SECTIONS)})")
    return section


def _row(s: Session, section: str) -> HubSetting | None:
    return s.exec(select(HubSetting).where(HubSetting.section == _check(section))).one_or_none()


def get_section(s: Session, section: str) -> dict[str, Any]:
    """The stored JSON of ``section`` in the session's environment ({} when never set)."""
    row = _row(s, section)
    return dict(row.value) if row is not None else {}


def put_section(s: Session, section: str, value: dict[str, Any], *, actor: str | None = None) -> None:
    """Replace ``section`` with ``value`` (already validated by its owner)."""
    row = _row(s, section)
    if row is None:
        row = HubSetting(environment=s.info["environment"], section=section)
    row.value = dict(value)
    row.updated_by = actor
    row.updated_at = utcnow()
    s.add(row)
    s.flush()
