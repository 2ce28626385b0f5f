"""HARP Connect's monthly action allowance per subscription tier and environment."""

from __future__ import annotations

from hub.billing.rules.errors import BillingRuleError

#: actions a tier may create per month in production
TIERS: dict[str, int] = {"connect65": 65, "connect250": 250, "connect1000": 1000}
#: the sandbox is entitled to this many times the production allowance
SANDBOX_MULTIPLIER = 10
ENVIRONMENTS = ("sandbox", "production")


def monthly_allowance(tier: str, environment: str) -> int:
    """Return the actions ``tier`` may create per month in ``environment`` (sandbox = 10x).

    Raises:
        BillingRuleError: an unknown tier or environment.
    """
    if tier not in TIERS:
        raise BillingRuleError("tier", f"unknown tier {tier!r}; known: {', '.join(TIERS)}")
    if environment not in ENVIRONMENTS:
        raise BillingRuleError(
            "environment", f"must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}"
        )
    base = TIERS[tier]
    return base * SANDBOX_MULTIPLIER if environment == "sandbox" else base


def remaining(tier: str, environment: str, used_this_month: int) -> int:
    """Return the actions still allowed this month (never below 0)."""
    if used_this_month < 0:
        raise BillingRuleError("used_this_month", f"must not be negative, not {used_this_month}")
    return max(0, monthly_allowance(tier, environment) - used_this_month)
