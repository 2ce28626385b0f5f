"""Notification settings per environment (hub_settings section "notifications", seed 002):
per type an e-mail and a ticket switch, the PSA queue, priority and issue type of the tickets,
and the name that signs the e-mails.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from hub.collections.rules import (
    CollectionRuleError,
    NotificationSetting,
    NotificationSettings,
    NotificationType,
    TicketConfig,
)
from hub.platform.audit import record
from hub.platform.hub_settings import get_section, put_section

_TICKET_FIELDS = ("destination", "priority", "issue_type")


_TYPE_FIELDS = ("email", "ticket", *_TICKET_FIELDS)


_SHARED_FIELDS = ("sender_name", *_TICKET_FIELDS)


def _known_types() -> str:
    return ", ".join(t.value for t in NotificationType)


def _settings_from(value: dict[str, Any]) -> NotificationSettings:
    shared = value.get("ticket") or {}
    per_type: dict[str, NotificationSetting] = {}
    for name, cfg in (value.get("types") or {}).items():
        own = {k: cfg[k] for k in _TICKET_FIELDS if cfg.get(k)}
        per_type[name] = NotificationSetting(
            email=bool(cfg.get("email", True)),
            ticket=bool(cfg["ticket"]) if cfg.get("ticket") is not None else None,
            ticket_config=TicketConfig(**{**{k: shared[k] for k in _TICKET_FIELDS if k in shared}, **own})
            if own else None,
        )
    kwargs: dict[str, Any] = {"ticket_config": TicketConfig(**shared), "per_type": per_type}
    if value.get("sender_name"):
        kwargs["sender_name"] = value["sender_name"]
    return NotificationSettings(**kwargs)


def get_settings(s: Session) -> NotificationSettings:
    """The environment's notification settings (every type on, the seed's ticket defaults)."""
    return _settings_from(get_section(s, "notifications"))


def update_settings(s: Session, type: str | None = None, **changes: Any) -> NotificationSettings:
    """Change one type's switches (``email``, ``ticket``, ``destination``, ``priority``,
    ``issue_type``) or, without ``type``, the shared ticket configuration and ``sender_name``.
    None leaves a field as it is; for a type, an empty ``destination``/``priority``/``issue_type``
    hands that field back to the shared configuration.

    Raises:
        CollectionRuleError: an unknown type (the known ones are listed) or field, or an
        empty value; nothing is stored then.
    """
    before = get_section(s, "notifications")
    value: dict[str, Any] = {**before, "ticket": dict(before.get("ticket") or {}),
                             "types": {k: dict(v) for k, v in (before.get("types") or {}).items()}}
    allowed = _TYPE_FIELDS if type is not None else _SHARED_FIELDS
    for name in changes:
        if name not in allowed:
            raise CollectionRuleError(name, f"not a setting here (one of {', '.join(allowed)})")
    changes = {k: v for k, v in changes.items() if v is not None}
    for name in ("email", "ticket"):
        if name in changes and not isinstance(changes[name], bool):
            raise CollectionRuleError(name, f"must be true or false, not {changes[name]!r}")
    if type is not None:
        try:
            kind = NotificationType(type)
        except ValueError:
            raise CollectionRuleError("type", f"no notification type {type!r} (one of {_known_types()})") from None
        value["types"].setdefault(kind.value, {}).update(changes)
    else:
        if "sender_name" in changes:
            if not str(changes["sender_name"]).strip():
                raise CollectionRuleError("sender_name", "must not be empty")
            value["sender_name"] = str(changes.pop("sender_name")).strip()
        value["ticket"].update(changes)
    settings = _settings_from(value)  # validates before anything is stored
    put_section(s, "notifications", value, actor=s.info.get("actor"))
    record(s, "settings.notifications", "hub_settings", "notifications", before=before, after=value)
    return settings


def settings_table(settings: NotificationSettings) -> list[dict[str, Any]]:
    """One row per type: its switches and where its tickets go."""
    rows = []
    for kind in NotificationType:
        r = settings.for_type(kind)
        rows.append({"type": kind.value, "email": r.email, "ticket": r.ticket,
                     "destination": r.ticket_config.destination, "priority": r.ticket_config.priority,
                     "issue_type": r.ticket_config.issue_type})
    return rows
