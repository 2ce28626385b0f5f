import pytest

from hub.billing.rules.allowance import check_quota, remaining
from hub.billing.rules.errors import BillingRuleError


@pytest.mark.parametrize(("quota", "used", "left"), [(65, 0, 65), (65, 60, 5), (65, 65, 0), (65, 80, 0),
                                                     (0, 0, 0), (None, 1_000_000, None)])
def test_remaining_never_goes_below_zero_and_no_quota_never_stops(quota, used, left):
    assert remaining(quota, used) == left


@pytest.mark.parametrize(("quota", "used", "field"), [(-1, 0, "action_quota"), (True, 0, "action_quota"),
                                                      ("10", 0, "action_quota"), (10, -1, "used_this_month")])
def test_quota_refusals_name_the_field(quota, used, field):
    with pytest.raises(BillingRuleError) as err:
        remaining(quota, used)
    assert err.value.field == field


def test_a_quota_of_0_is_kept_not_taken_for_none():
    assert check_quota(0) == 0
