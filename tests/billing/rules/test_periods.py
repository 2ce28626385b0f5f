from datetime import date

import pytest

from hub.billing.rules.domain import BillingPeriod, BillingPeriodType, PeriodUnit
from hub.billing.rules.errors import BillingRuleError
from hub.billing.rules.periods import Period, period_step, periods
from hub.platform.calendar import add_months

from .builders import HALF_YEARLY, MONTHLY, QUARTERLY, YEARLY, other


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 1, 31), 2, date(2024, 3, 31)),
        (date(2024, 1, 31), 3, date(2024, 4, 30)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2024, 11, 30), 3, date(2025, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 5, 15), 0, date(2024, 5, 15)),
    ],
)
def test_add_months_keeps_the_anchor_day_clamped_to_month_end(anchor, months, expected):
    assert add_months(anchor, months) == expected


@pytest.mark.parametrize(
    ("billing", "step"),
    [
        (MONTHLY, (PeriodUnit.MONTHS, 1)),
        (QUARTERLY, (PeriodUnit.MONTHS, 3)),
        (HALF_YEARLY, (PeriodUnit.MONTHS, 6)),
        (YEARLY, (PeriodUnit.MONTHS, 12)),
        (other(45), (PeriodUnit.DAYS, 45)),
        (other(2, PeriodUnit.MONTHS), (PeriodUnit.MONTHS, 2)),
        # a named type wins over whatever unit/length is stored with it
        (BillingPeriod(BillingPeriodType.QUARTERLY, PeriodUnit.DAYS, 9), (PeriodUnit.MONTHS, 3)),
    ],
)
def test_period_step_per_period_type(billing, step):
    assert period_step(billing) == step


@pytest.mark.parametrize("length", [0, -3])
def test_other_period_with_length_below_one_is_refused(length):
    with pytest.raises(BillingRuleError, match="billing.length"):
        period_step(other(length))


def starts(ps: list[Period]) -> list[date]:
    return [p.start for p in ps]


def test_monthly_from_jan_31_in_a_leap_year_is_computed_from_the_anchor():
    ps = periods(date(2024, 1, 31), MONTHLY, until=date(2024, 5, 31))
    assert starts(ps) == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    assert [p.end for p in ps[:3]] == [date(2024, 2, 28), date(2024, 3, 30), date(2024, 4, 29)]
    assert [p.cycle for p in ps] == [1, 2, 3, 4, 5]


def test_monthly_from_jan_31_in_a_common_year_gives_feb_28():
    ps = periods(date(2023, 1, 31), MONTHLY, until=date(2023, 3, 31))
    assert starts(ps) == [date(2023, 1, 31), date(2023, 2, 28), date(2023, 3, 31)]
    assert ps[0].end == date(2023, 2, 27)


@pytest.mark.parametrize(
    ("billing", "expected_starts", "first_end"),
    [
        (QUARTERLY, [date(2024, 1, 15), date(2024, 4, 15), date(2024, 7, 15), date(2024, 10, 15)],
         date(2024, 4, 14)),
        (HALF_YEARLY, [date(2024, 1, 15), date(2024, 7, 15)], date(2024, 7, 14)),
        (YEARLY, [date(2024, 1, 15)], date(2025, 1, 14)),
        (other(45), [date(2024, 1, 15), date(2024, 2, 29), date(2024, 4, 14), date(2024, 5, 29),
                     date(2024, 7, 13), date(2024, 8, 27), date(2024, 10, 11), date(2024, 11, 25)],
         date(2024, 2, 28)),
    ],
)
def test_every_period_type_within_a_year(billing, expected_starts, first_end):
    ps = periods(date(2024, 1, 15), billing, until=date(2024, 12, 31))
    assert starts(ps) == expected_starts
    assert ps[0].end == first_end


def test_periods_include_a_period_starting_exactly_on_until():
    assert len(periods(date(2024, 1, 1), MONTHLY, until=date(2024, 3, 1))) == 3
    assert len(periods(date(2024, 1, 1), MONTHLY, until=date(2024, 2, 29))) == 2


def test_periods_stop_at_end_and_clip_the_last_one():
    ps = periods(date(2024, 1, 1), MONTHLY, until=date(2030, 1, 1), end=date(2024, 3, 15))
    assert [(p.start, p.end) for p in ps] == [
        (date(2024, 1, 1), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 15)),
    ]


def test_period_starting_on_end_day_is_one_day_long():
    ps = periods(date(2024, 1, 1), MONTHLY, until=date(2030, 1, 1), end=date(2024, 2, 1))
    assert ps[-1] == Period(2, date(2024, 2, 1), date(2024, 2, 1))


def test_max_cycles_limits_the_count():
    ps = periods(date(2024, 1, 1), MONTHLY, until=date(2030, 1, 1), max_cycles=4)
    assert len(ps) == 4


def test_nothing_before_the_anchor():
    assert periods(date(2024, 6, 1), MONTHLY, until=date(2024, 5, 31)) == []
