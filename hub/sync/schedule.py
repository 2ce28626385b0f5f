"""A sync card's schedule: its cadence in minutes, or a cron schedule in UTC (``sync_cron``), as
``cashrail serve`` deploys it (deployments/plan.py); said in words, and its next run worked out
when Prefect's own schedule cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cronsim import CronSim

DEFAULT_MINUTES = 60.0


def minutes(settings: dict[str, Any]) -> float:
    """The card's cadence in minutes (kept, though unused, while a cron schedule replaces it)."""
    return float(settings.get("sync_every_minutes") or DEFAULT_MINUTES)


def every(settings: dict[str, Any]) -> timedelta | None:
    """The card's cadence, or None when a cron schedule replaces it."""
    if settings.get("sync_cron"):
        return None
    return timedelta(minutes=minutes(settings))


def cron(settings: dict[str, Any]) -> str | None:
    return settings.get("sync_cron") or None


def next_after(settings: dict[str, Any], after: datetime) -> datetime:
    """The first run the schedule makes after ``after`` (a cadence counts from ``after``)."""
    expression = cron(settings)
    if expression:
        found: datetime = next(CronSim(expression, after.astimezone(UTC)))
        return found
    cadence = every(settings)
    assert cadence is not None
    return after + cadence


def describe(settings: dict[str, Any]) -> str:
    """"every 60 min" or "cron 0 7 * * 1-5 (UTC)"."""
    expression = cron(settings)
    if expression:
        return f"cron {expression} (UTC)"
    return f"every {minutes(settings):g} min"
