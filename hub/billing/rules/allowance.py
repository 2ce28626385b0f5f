"""HARP Connect's monthly action quota (seed 003's "Subscription Actions Consumption").

The seed's SaaS caps the actions a plan tier may create per month (10x in the sandbox). An
open-source install has no tier: the cap is an optional quota an administrator sets per
environment, and with none set billing never stops.
"""

from __future__ import annotations

from hub.billing.rules.errors import BillingRuleError


def check_quota(quota: int | None) -> int | None:
    """Return a valid quota: None (no limit) or a whole number of actions per month, 0 included."""
    if quota is None:
        return None
    if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
        raise BillingRuleError("action_quota", f"must be a whole number of actions, 0 or more, not {quota!r}")
    return quota


def remaining(quota: int | None, used_this_month: int) -> int | None:
    """Return the actions still allowed this month (never below 0), or None without a quota."""
    if used_this_month < 0:
        raise BillingRuleError("used_this_month", f"must not be negative, not {used_this_month}")
    quota = check_quota(quota)
    return None if quota is None else max(0, quota - used_this_month)
