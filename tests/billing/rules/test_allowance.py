import pytest

from hub.billing.rules.allowance import TIERS, monthly_allowance, remaining
from hub.billing.rules.errors import BillingRuleError


@pytest.mark.parametrize(
    ("tier", "env", "expected"),
    [("connect65", "production", 65), ("connect65", "sandbox", 650),
     ("connect250", "production", 250), ("connect1000", "sandbox", 10_000)],
)
def test_monthly_allowance_sandbox_is_ten_times_production(tier, env, expected):
    assert monthly_allowance(tier, env) == expected


@pytest.mark.parametrize(("used", "left"), [(0, 65), (60, 5), (65, 0), (80, 0)])
def test_remaining_never_goes_below_zero(used, left):
    assert remaining("connect65", "production", used) == left


@pytest.mark.parametrize(
    ("tier", "env", "used", "field"),
    [("connect5", "production", 0, "tier"), ("connect65", "staging", 0, "environment"),
     ("connect65", "production", -1, "used_this_month")],
)
def test_allowance_refusals_name_the_field(tier, env, used, field):
    with pytest.raises(BillingRuleError) as err:
        remaining(tier, env, used)
    assert err.value.field == field


def test_tiers():
    assert TIERS == {"connect65": 65, "connect250": 250, "connect1000": 1000}
