"""Collection settings per environment (hub_settings section "collections", seeds 000 and 001):
when autopay invoices are charged, how declines are retried, and since when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from hub.collections.rules import (
    ChargeTiming,
    CollectionRuleError,
    RetryBasis,
    RetryPolicy,
    RetrySchedule,
)
from hub.collections.rules.errors import CollectError
from hub.platform import audit
from hub.platform.hub_settings import get_section, put_section

SECTION = "collections"


def _default_policy() -> RetryPolicy:
    return RetryPolicy(default=RetrySchedule.after_days(3, 5, 7))


@dataclass(frozen=True)
class CollectionSettings:
    """When autopay invoices are charged, how declines are retried, and since when."""

    timing: ChargeTiming = ChargeTiming.ON_DUE_DATE
    retry: RetryPolicy = field(default_factory=_default_policy)
    #: invoices whose charge date is before this day are never charged automatically
    not_before: date | None = None

    def as_json(self) -> dict[str, Any]:
        policy = self.retry
        return {
            "timing": self.timing.value,
            "retry": {
                "default": _schedule_json(policy.default),
                "by_code": {code: _schedule_json(s) for code, s in sorted(policy.by_code.items())},
                "hard_codes": sorted(policy.hard_codes),
            },
            "not_before": self.not_before.isoformat() if self.not_before else None,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> CollectionSettings:
        """Validate stored or entered settings; errors name the field (e.g. ``retry.default.days``)."""
        if not isinstance(value, dict):
            raise CollectError("collections: must be a JSON object")
        try:
            timing = ChargeTiming(value.get("timing") or ChargeTiming.ON_DUE_DATE)
        except ValueError:
            raise CollectError(f"timing: must be on_due_date or on_issue, not {value.get('timing')!r}") from None
        not_before = value.get("not_before")
        if not_before:
            try:
                not_before = date.fromisoformat(str(not_before))
            except ValueError:
                raise CollectError(f"not_before: not a date (YYYY-MM-DD): {not_before!r}") from None
        retry = value.get("retry")
        if retry is None:
            return cls(timing, _default_policy(), not_before or None)
        if not isinstance(retry, dict):
            raise CollectError("retry: must be a JSON object")
        try:
            by_code = retry.get("by_code") or {}
            if not isinstance(by_code, dict):
                raise CollectError("retry.by_code: must map decline codes to schedules")
            kwargs: dict[str, Any] = {
                "default": _schedule(retry.get("default"), "retry.default"),
                "by_code": {code: _schedule(s, f"retry.by_code.{code}") for code, s in by_code.items()},
            }
            hard = retry.get("hard_codes")
            if hard is not None:
                if not isinstance(hard, list) or not all(isinstance(code, str) and code for code in hard):
                    raise CollectError("retry.hard_codes: must be a list of decline codes (e.g. EXPIRED_CARD)")
                kwargs["hard_codes"] = frozenset(hard)
            policy = RetryPolicy(**kwargs)
        except CollectionRuleError as exc:
            raise CollectError(f"retry.{exc.field}: {exc.reason}") from None
        return cls(timing, policy, not_before or None)


def _schedule_json(schedule: RetrySchedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {"basis": schedule.basis.value, "days": list(schedule.days), "max_retries": schedule.max_retries}


def _schedule(value: Any, name: str) -> RetrySchedule | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CollectError(f"{name}: must be a JSON object with basis and days")
    try:
        basis = RetryBasis(value.get("basis", ""))
    except ValueError:
        raise CollectError(f"{name}.basis: must be days_after_decline or days_of_month, "
                           f"not {value.get('basis')!r}") from None
    days = value.get("days")
    if not isinstance(days, list):
        raise CollectError(f"{name}.days: must be a list of whole numbers")
    try:
        return RetrySchedule(basis, tuple(days), value.get("max_retries"))
    except CollectionRuleError as exc:
        raise CollectError(f"{name}.{exc.field}: {exc.reason}") from None


def get_settings(s: Session) -> CollectionSettings:
    """The environment's collection settings (seed 001's defaults until someone saves them)."""
    return CollectionSettings.from_json(get_section(s, SECTION))


def put_settings(s: Session, settings: CollectionSettings, *, actor: str | None = None) -> None:
    before = get_section(s, SECTION) or None
    after = settings.as_json()
    put_section(s, SECTION, after, actor=actor)
    audit.record(s, "settings.edit", "hub_settings", SECTION, actor=actor, before=before, after=after)
