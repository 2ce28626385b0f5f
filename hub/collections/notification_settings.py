"""Notification settings per environment (hub_settings section "notifications", seed 002):
per type an e-mail and a ticket switch, the PSA queue, priority and issue type of the tickets,
and the name that signs the e-mails. The queue, priority and issue type are names the PSA lists:
:func:`psa_ticket_choices` asks it, :func:`check_ticket_names` refuses a name it does not list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from sqlmodel import Session

from hub.collections.rules import (
    CollectionRuleError,
    NotificationSetting,
    NotificationSettings,
    NotificationType,
    TicketConfig,
)
from hub.platform.audit import record
from hub.platform.db import session
from hub.platform.hub_settings import get_section, put_section
from hub.sync import cards
from hub.sync.pool import LiveConnectors

_TICKET_FIELDS = ("destination", "priority", "issue_type")


_TYPE_FIELDS = ("email", "ticket", *_TICKET_FIELDS)


_SHARED_FIELDS = ("sender_name", *_TICKET_FIELDS)


#: what each ticket field is called in the PSA's own words
TICKET_LABELS = {"destination": "a queue", "priority": "a priority", "issue_type": "an issue type"}


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


def _changed(before: dict[str, Any], type: str | None, asked: Mapping[str, Any]) -> dict[str, Any]:
    """The stored section ``before`` with the changes ``asked`` made (see :func:`update_settings`)."""
    value: dict[str, Any] = {**before, "ticket": dict(before.get("ticket") or {}),
                             "types": {k: dict(v) for k, v in (before.get("types") or {}).items()}}
    allowed = _TYPE_FIELDS if type is not None else _SHARED_FIELDS
    for name in asked:
        if name not in allowed:
            raise CollectionRuleError(name, f"not a setting here (one of {', '.join(allowed)})")
    changes = {k: v for k, v in asked.items() if v is not None}
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
    return value


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
    value = _changed(before, type, changes)
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


def psa_ticket_choices(environment: str, transport: httpx.BaseTransport | None = None) -> dict[str, dict[str, Any]]:
    """Per active PSA card of ``environment``, the queues, priorities and issue types it lists now.

    Raises:
        ApiError: a PSA could not be asked.
    """
    with session(environment) as s:
        names = [c.name for c in cards.all_cards(s) if cards.role(c) == "psa" and c.status == "active"]
    found: dict[str, dict[str, Any]] = {}
    with LiveConnectors(environment, transport) as live:
        for name in names:
            choices = live.get(name).ticket_choices()
            if choices is not None:
                found[name] = choices
    return found


def common_choices(choices: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """Per ticket field, the names every PSA lists (in the first one's order); None without a PSA.
    Where a PSA's issue types belong to a board (ConnectWise), ``issue_type_by_destination`` holds
    each common destination's own common types, so a picker can show them under their board."""
    if not choices:
        return None
    first, *others = choices.values()

    def common(names: list[str], lists: list[list[str]]) -> list[str]:
        return [n for n in names if all(n.casefold() in {o.casefold() for o in other} for other in lists)]

    found: dict[str, Any] = {field: common(first.get(field, []), [o.get(field, []) for o in others])
                             for field in _TICKET_FIELDS}
    by_board = [lists.get("issue_type_by_destination") for lists in choices.values()]
    if any(by_board):
        def types_of(board: str, lists: Mapping[str, Any]) -> list[str]:
            own: Mapping[str, list[str]] | None = lists.get("issue_type_by_destination")
            if not own:  # a PSA without boards: its issue types serve every destination
                return list(lists.get("issue_type", []))
            return next((t for b, t in own.items() if b.casefold() == board.casefold()), [])

        found["issue_type_by_destination"] = {
            board: common(types_of(board, first), [types_of(board, o) for o in others])
            for board in found["destination"]}
    return found


def check_ticket_names(changes: Mapping[str, Any], choices: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a destination, priority or issue type that a PSA of ``choices`` does not list
    (case aside); an empty value is not checked (it follows the shared configuration).

    Raises:
        CollectionRuleError: the field, the name, the PSA card and the names it does list.
    """
    for field in _TICKET_FIELDS:
        value = str(changes.get(field) or "").strip()
        if not value:
            continue
        for card, lists in choices.items():
            names = lists.get(field, [])
            if value.casefold() not in {n.casefold() for n in names}:
                raise CollectionRuleError(field, f"{value!r} is not {TICKET_LABELS[field]} in the PSA {card}; "
                                                 f"choose one of: {', '.join(names) or '(it lists none)'}")


def check_board_types(configs: Iterable[TicketConfig], choices: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a ticket configuration whose issue type is not one of its board's own types, in a
    PSA whose issue types belong to a board (ConnectWise: ``issue_type_by_destination``); a board
    the PSA does not list is left to :func:`check_ticket_names`.

    Raises:
        CollectionRuleError: the issue type, the board, the PSA card and the board's types.
    """
    for config in configs:
        for card, lists in choices.items():
            by_board: Mapping[str, list[str]] = lists.get("issue_type_by_destination") or {}
            board = next((b for b in by_board if b.casefold() == config.destination.casefold()), None)
            if board is None:
                continue
            types = by_board[board]
            if config.issue_type.casefold() not in {t.casefold() for t in types}:
                raise CollectionRuleError("issue_type", f"{config.issue_type!r} is not an issue type of the board "
                                                        f"{board!r} in the PSA {card}; choose one of: "
                                                        f"{', '.join(types) or '(it lists none)'}")


def _configs_changed(before: dict[str, Any], after: dict[str, Any]) -> list[TicketConfig]:
    """The ticket configurations in effect after a change that differ from before it: the shared
    one, then each type's (a type following the shared board changes with it)."""
    old, new = _settings_from(before), _settings_from(after)
    configs = [new.ticket_config] if new.ticket_config != old.ticket_config else []
    for kind in NotificationType:
        config = new.for_type(kind).ticket_config
        if config != old.for_type(kind).ticket_config and config not in configs:
            configs.append(config)
    return configs


def check_against_psa(environment: str, changes: Mapping[str, Any],
                      transport: httpx.BaseTransport | None = None, *, type: str | None = None) -> None:
    """:func:`check_ticket_names` against what the environment's PSAs list now (asked only when a
    ticket field is given), and :func:`check_board_types` for every ticket configuration the
    change of ``type`` (None: the shared configuration) would alter.

    Raises:
        CollectionRuleError: a name a PSA does not list, or an issue type not of its board.
        ApiError: a PSA could not be asked.
    """
    if not any(str(changes.get(field) or "").strip() for field in _TICKET_FIELDS):
        return
    choices = psa_ticket_choices(environment, transport)
    check_ticket_names(changes, choices)
    with session(environment) as s:
        before = get_section(s, "notifications")
    check_board_types(_configs_changed(before, _changed(before, type, changes)), choices)
