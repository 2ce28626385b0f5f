"""Dunning settings per environment (hub_settings section "dunning", seed 001): the overdue
levels, the late-payment penalty and its ERP item, the card-expiry warning, and the switch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from hub.collections.rules import (
    DEFAULT_LEVELS,
    CollectionRuleError,
    DunningPolicy,
    OverdueLevel,
    Penalty,
    Severity,
)
from hub.collections.rules.expiry import DEFAULT_WARNING_DAYS
from hub.platform.audit import record
from hub.platform.hub_settings import get_section, put_section

_FIELDS = ("enabled", "levels", "severities", "penalty_percent", "penalty_fixed", "penalty_level", "penalty_since",
           "penalty_item", "card_expiry_days")


@dataclass(frozen=True)
class DunningSettings:
    """The policy plus the switches around it; ``penalty_item`` is the ERP item number the
    penalty invoice line bills (no ERP invoice is raised without one)."""

    enabled: bool = True
    policy: DunningPolicy = field(default_factory=DunningPolicy)
    penalty_item: str | None = None
    card_expiry_days: int = DEFAULT_WARNING_DAYS

    def as_dict(self) -> dict[str, Any]:
        penalty = self.policy.penalty
        return {"enabled": self.enabled, "levels": [lvl.days for lvl in self.policy.levels],
                "severities": [lvl.severity.value for lvl in self.policy.levels],
                "penalty_percent": str(penalty.percent) if penalty and penalty.percent is not None else None,
                "penalty_fixed": str(penalty.fixed) if penalty and penalty.fixed is not None else None,
                "penalty_level": penalty.at_level if penalty else None,
                "penalty_since": penalty.since.isoformat() if penalty and penalty.since else None,
                "penalty_item": self.penalty_item, "card_expiry_days": self.card_expiry_days}


#: levels and card warnings further out than this are bad input, not a policy
MAX_DAYS = 3660


def _settings_from(value: dict[str, Any]) -> DunningSettings:
    days = value.get("levels", [lvl.days for lvl in DEFAULT_LEVELS])
    if not isinstance(days, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in days):
        raise CollectionRuleError("levels", f"must be a list of whole days, not {days!r}")
    if any(not 1 <= d <= MAX_DAYS for d in days):
        raise CollectionRuleError("levels", f"each level comes 1 to {MAX_DAYS} days after the due date, not {days!r}")
    if len(days) > len(DEFAULT_LEVELS):
        raise CollectionRuleError("levels", f"need 1 to {len(DEFAULT_LEVELS)} overdue levels, not {len(days)}")
    severities = value.get("severities") or [lvl.severity.value for lvl in DEFAULT_LEVELS[:len(days)]]
    if not isinstance(severities, list) or len(severities) != len(days):
        raise CollectionRuleError("severities", f"one per level ({len(days)}), not {severities!r}")
    if bad := [v for v in severities if v not in set(Severity)]:
        raise CollectionRuleError("severities", f"each one of {', '.join(Severity)}, not {bad[0]!r}")
    levels = tuple(OverdueLevel(i + 1, d, Severity(severities[i])) for i, d in enumerate(days))
    fixed = _amount(value, "penalty_fixed", None)
    percent = None if fixed is not None else _amount(value, "penalty_percent", "5")
    penalty = None
    if percent is not None or fixed is not None:
        at_level = value.get("penalty_level")
        at_level = len(levels) if at_level is None else at_level
        if not isinstance(at_level, int) or isinstance(at_level, bool) or at_level < 1:
            raise CollectionRuleError("penalty_level", f"must be a level number (1 = Overdue 1), not {at_level!r}")
        since = value.get("penalty_since") or None
        try:
            since = date.fromisoformat(since) if isinstance(since, str) else since
        except ValueError:
            raise CollectionRuleError("penalty_since", f"must be a date (YYYY-MM-DD), not {since!r}") from None
        if since is not None and not isinstance(since, date):
            raise CollectionRuleError("penalty_since", f"must be a date (YYYY-MM-DD), not {since!r}")
        penalty = Penalty(percent, at_level, fixed, since)
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise CollectionRuleError("enabled", f"must be true or false, not {enabled!r}")
    expiry_days = value.get("card_expiry_days", DEFAULT_WARNING_DAYS)
    if not isinstance(expiry_days, int) or isinstance(expiry_days, bool) or not 0 <= expiry_days <= MAX_DAYS:
        raise CollectionRuleError("card_expiry_days", f"must be 0 to {MAX_DAYS} days, not {expiry_days!r}")
    return DunningSettings(enabled, DunningPolicy(levels, penalty),
                           value.get("penalty_item") or None, expiry_days)


def _amount(value: dict[str, Any], name: str, default: str | None) -> Decimal | None:
    """A penalty figure of the settings; None (or 0) when there is none."""
    raw = value.get(name, default)
    if raw in (None, "", "0", 0):
        return None
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        raise CollectionRuleError(name, f"not a number: {raw!r}") from None


def get_settings(s: Session) -> DunningSettings:
    """The environment's dunning settings (seed 001's 15/45/60 days and 5% at Overdue 3)."""
    return _settings_from(get_section(s, "dunning"))


def severities_from_text(text: str) -> list[str] | None:
    """Severities typed as one comma-separated line (CLI option, web form); blank: the default wording."""
    return [part.strip() for part in text.split(",") if part.strip()] or None


def update_settings(s: Session, **changes: Any) -> DunningSettings:
    """Change ``enabled``, ``levels`` (days), ``severities`` (one per level: reminder, firm,
    final, never milder than the level before), ``penalty_percent`` (None/0: no penalty) or
    ``penalty_fixed`` (an amount instead of the percent), ``penalty_level``, ``penalty_since``
    (only invoices reaching the level from that day), ``penalty_item`` or ``card_expiry_days``.

    Raises:
        CollectionRuleError: an unknown field or a value the policy refuses; nothing is stored.
    """
    for name in changes:
        if name not in _FIELDS:
            raise CollectionRuleError(name, f"not a dunning setting (one of {', '.join(_FIELDS)})")
    before = get_section(s, "dunning")
    value = {**get_settings(s).as_dict(), **before, **changes}
    if changes.get("penalty_fixed") not in (None, "", "0", 0):  # the one given replaces the other kind
        value["penalty_percent"] = None
    elif changes.get("penalty_percent") not in (None, "", "0", 0):
        value["penalty_fixed"] = None
    if "levels" in changes and "severities" not in changes:  # the new levels take the default wording
        value["severities"] = None
    settings = _settings_from(value)  # validates before anything is stored
    put_section(s, "dunning", settings.as_dict(), actor=s.info.get("actor"))
    record(s, "settings.dunning", "hub_settings", "dunning", before=before, after=settings.as_dict())
    return settings
