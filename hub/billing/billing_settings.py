"""Billing settings per environment (hub_settings section "billing"): the optional monthly action
quota of HARP Connect, and whether due actions are firmed on a schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from hub.access.roles import allow
from hub.billing.rules import allowance
from hub.billing.rules.errors import BillingRuleError, SubscriptionError
from hub.platform import audit
from hub.platform.hub_settings import get_section, put_section
from hub.platform.models import SubscriptionAction

SECTION = "billing"
_UNSET: Any = object()


@dataclass(frozen=True)
class BillingSettings:
    #: actions HARP Connect may create per calendar month; None: no quota, billing never stops
    action_quota: int | None = None
    #: a daily deployment firms the actions due (off: firming is left to a person, seed 003)
    firm_on_schedule: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"action_quota": self.action_quota, "firm_on_schedule": self.firm_on_schedule}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> BillingSettings:
        firm = value.get("firm_on_schedule", False)
        if not isinstance(firm, bool):
            raise SubscriptionError(f"firm_on_schedule: must be true or false, not {firm!r}")
        try:
            return cls(allowance.check_quota(value.get("action_quota")), firm)
        except BillingRuleError as exc:
            raise SubscriptionError(str(exc)) from None


def load(s: Session) -> BillingSettings:
    return BillingSettings.from_json(get_section(s, SECTION))


def update(s: Session, *, action_quota: int | None = _UNSET, firm_on_schedule: bool | None = None,
           actor: str | None = None) -> BillingSettings:
    """Change what is given (``action_quota=None`` removes the quota); the rest is kept."""
    allow(s, "Billing Settings", "Update")
    before = load(s)
    value = before.as_json()
    if action_quota is not _UNSET:
        value["action_quota"] = action_quota
    if firm_on_schedule is not None:
        value["firm_on_schedule"] = firm_on_schedule
    after = BillingSettings.from_json(value)
    put_section(s, SECTION, after.as_json(), actor=actor)
    audit.record(s, "settings.edit", "hub_settings", SECTION, actor=actor, before=before.as_json(),
                 after=after.as_json())
    return after


def allowance_left(s: Session, today: date | None = None) -> int | None:
    """Actions this environment may still create this calendar month; None without a quota."""
    quota = load(s).action_quota
    if quota is None:
        return None
    today = today or date.today()
    first = datetime(today.year, today.month, 1, tzinfo=UTC)
    used = s.exec(select(func.count()).select_from(SubscriptionAction).where(
        SubscriptionAction.created_at >= first)).one()
    return allowance.remaining(quota, used)
