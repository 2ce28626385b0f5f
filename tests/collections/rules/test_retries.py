from datetime import date

import pytest

from hub.collections.rules import (
    CollectionRuleError,
    Decline,
    RetryBasis,
    RetryDecision,
    RetryPolicy,
    RetrySchedule,
    RetryVerdict,
    decide_retry,
    next_retry,
)

PAYDAYS = RetrySchedule.on_days_of_month(2, 16)  # seed 001's Date schedule
DAYS_3_5_7 = RetrySchedule.after_days(3, 5, 7)  # seed 001's No. of Days schedule


def calendar_of(schedule, declined_on, code="DO_NOT_HONOR"):
    """Every retry date the schedule makes after a decline on ``declined_on``."""
    decline = Decline(code, declined_on)
    dates, n = [], 0
    while (when := next_retry(decline, schedule, n)) is not None:
        dates.append(when)
        n += 1
    return dates


@pytest.mark.parametrize(
    ("declined_on", "expected"),
    [
        (date(2012, 8, 10), [date(2012, 8, 16), date(2012, 9, 2)]),
        (date(2012, 8, 1), [date(2012, 8, 2), date(2012, 8, 16)]),
        (date(2012, 8, 2), [date(2012, 8, 16), date(2012, 9, 2)]),  # never the decline's own day
        (date(2012, 8, 16), [date(2012, 9, 2), date(2012, 9, 16)]),
        (date(2012, 12, 20), [date(2013, 1, 2), date(2013, 1, 16)]),  # Dec -> Jan, next year
    ],
)
def test_seed_001_date_schedule_retries_on_the_2nd_and_16th(declined_on, expected):
    assert calendar_of(PAYDAYS, declined_on) == expected


def test_seed_001_days_schedule_retries_3_5_and_7_days_after_the_decline():
    assert calendar_of(DAYS_3_5_7, date(2012, 8, 10)) == [
        date(2012, 8, 13),
        date(2012, 8, 15),
        date(2012, 8, 17),
    ]


@pytest.mark.parametrize(
    ("declined_on", "expected"),
    [
        (date(2012, 8, 28), [date(2012, 8, 31), date(2012, 9, 2), date(2012, 9, 4)]),
        (
            date(2012, 12, 27),
            [date(2012, 12, 30), date(2013, 1, 1), date(2013, 1, 3)],
        ),  # year change
        (date(2012, 2, 26), [date(2012, 2, 29), date(2012, 3, 2), date(2012, 3, 4)]),  # leap day
        (date(2013, 2, 26), [date(2013, 3, 1), date(2013, 3, 3), date(2013, 3, 5)]),
    ],
)
def test_days_after_decline_count_calendar_days_across_month_and_year_ends(declined_on, expected):
    assert calendar_of(DAYS_3_5_7, declined_on) == expected


@pytest.mark.parametrize(
    ("days", "max_retries", "declined_on", "expected"),
    [
        # the 31st is the month's last day: Feb 29 in a leap year, Feb 28 otherwise, Apr 30
        (
            (31,),
            4,
            date(2024, 1, 31),
            [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)],
        ),
        ((31,), 2, date(2023, 1, 31), [date(2023, 2, 28), date(2023, 3, 31)]),
        ((31,), 1, date(2100, 2, 1), [date(2100, 2, 28)]),  # 2100 is not a leap year
        ((31,), 2, date(2024, 12, 31), [date(2025, 1, 31), date(2025, 2, 28)]),
        # the 30th and the 31st fall together in February: one retry that day, not two
        (
            (30, 31),
            4,
            date(2023, 2, 1),
            [date(2023, 2, 28), date(2023, 3, 30), date(2023, 3, 31), date(2023, 4, 30)],
        ),
        (
            (2, 16),
            5,
            date(2012, 11, 20),
            [
                date(2012, 12, 2),
                date(2012, 12, 16),
                date(2013, 1, 2),
                date(2013, 1, 16),
                date(2013, 2, 2),
            ],
        ),
    ],
)
def test_date_schedule_across_month_ends_leap_years_and_new_year(
    days, max_retries, declined_on, expected
):
    schedule = RetrySchedule.on_days_of_month(*days, max_retries=max_retries)
    assert calendar_of(schedule, declined_on) == expected


def test_a_date_schedule_tries_each_listed_date_once_by_default():
    assert PAYDAYS.retries == 2
    assert RetrySchedule.on_days_of_month(2, 16, max_retries=6).retries == 6


def test_retry_calendar_is_anchored_on_the_first_decline_not_on_late_runs():
    decline = Decline("INSUFFICIENT_FUNDS", date(2012, 8, 10))
    # whether retry 1 ran on the 13th or late on the 14th, retry 2 is on the 15th
    assert next_retry(decline, DAYS_3_5_7, 1) == date(2012, 8, 15)


@pytest.mark.parametrize(
    "code", ["EXPIRED_CARD", "CARD_LOST_OR_STOLEN", "ACCOUNT_CLOSED", " expired_card "]
)
def test_a_hard_decline_is_never_retried_and_asks_for_a_new_card(code):
    decline = Decline(code, date(2012, 8, 10))
    assert next_retry(decline, DAYS_3_5_7, 0) is None
    assert decide_retry(decline, RetryPolicy(default=DAYS_3_5_7), 0) == RetryDecision(
        RetryVerdict.ASK_FOR_NEW_CARD
    )


def test_a_decline_the_gateway_calls_hard_is_not_retried_whatever_its_code():
    decline = Decline("RESTRICTED_CARD", date(2012, 8, 10), hard=True)
    assert decide_retry(decline, POLICY, 0).verdict == RetryVerdict.ASK_FOR_NEW_CARD


def test_a_soft_decline_is_retried_until_the_schedule_is_used_up():
    decline = Decline("DO_NOT_HONOR", date(2012, 8, 10))
    assert decide_retry(decline, DAYS_3_5_7, 2) == RetryDecision(
        RetryVerdict.RETRY, date(2012, 8, 17), 3
    )
    assert decide_retry(decline, DAYS_3_5_7, 3) == RetryDecision(RetryVerdict.EXHAUSTED)


POLICY = RetryPolicy(
    default=DAYS_3_5_7,
    by_code={"insufficient_funds": PAYDAYS, "CALL_ISSUER": RetrySchedule.after_days(1)},
    hard_codes=frozenset({"EXPIRED_CARD", "CARD_LOST_OR_STOLEN", "ACCOUNT_CLOSED", "PICKUP_CARD"}),
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("INSUFFICIENT_FUNDS", [date(2012, 8, 16), date(2012, 9, 2)]),  # paydays for missing funds
        ("CALL_ISSUER", [date(2012, 8, 11)]),
        ("DO_NOT_HONOR", [date(2012, 8, 13), date(2012, 8, 15), date(2012, 8, 17)]),  # the default
        ("PICKUP_CARD", []),  # a hard code of this policy
    ],
)
def test_the_schedule_is_chosen_by_the_decline_code(code, expected):
    assert calendar_of(POLICY, date(2012, 8, 10), code) == expected


def test_without_a_default_only_codes_with_a_schedule_are_retried():
    policy = RetryPolicy(by_code={"INSUFFICIENT_FUNDS": PAYDAYS})
    assert (
        decide_retry(Decline("DO_NOT_HONOR", date(2012, 8, 10)), policy, 0).verdict
        == RetryVerdict.EXHAUSTED
    )
    assert next_retry(Decline("INSUFFICIENT_FUNDS", date(2012, 8, 10)), policy, 0) == date(
        2012, 8, 16
    )


def test_days_are_kept_sorted():
    assert RetrySchedule.after_days(7, 3, 5).days == (3, 5, 7)
    assert RetrySchedule(RetryBasis.DAYS_OF_MONTH, (16, 2)).days == (2, 16)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RetrySchedule.on_days_of_month(0), "0 is not a day of the month"),
        (lambda: RetrySchedule.on_days_of_month(32), "32 is not a day of the month"),
        (lambda: RetrySchedule.on_days_of_month(), "at least one day"),
        (lambda: RetrySchedule.after_days(), "at least one day"),
        (lambda: RetrySchedule.on_days_of_month(2, 16, 2), "2 listed twice"),
        (lambda: RetrySchedule.after_days(3, 3, 5), "3 listed twice"),
        (lambda: RetrySchedule.after_days(0, 3), "1 to 366 days after the decline"),
        (lambda: RetrySchedule.after_days(3, 10**20), "1 to 366 days after the decline"),
        (lambda: RetrySchedule.on_days_of_month(2, max_retries=10**9), "max_retries"),
        (lambda: RetrySchedule.after_days(3.5), "whole numbers"),
        (lambda: RetrySchedule.on_days_of_month(2, max_retries=0), "max_retries"),
        (lambda: RetrySchedule(RetryBasis.DAYS_AFTER_DECLINE, (3,), max_retries=2), "max_retries"),
        (lambda: RetryPolicy(by_code={"EXPIRED_CARD": DAYS_3_5_7}), "hard decline"),
        (
            lambda: RetryPolicy(by_code={"do_not_honor": PAYDAYS, "DO_NOT_HONOR": DAYS_3_5_7}),
            "two schedules",
        ),
        (lambda: Decline(" ", date(2012, 8, 10)), "decline.code"),
        (
            lambda: next_retry(Decline("DO_NOT_HONOR", date(2012, 8, 10)), PAYDAYS, -1),
            "attempts_so_far",
        ),
    ],
)
def test_bad_retry_configuration_is_refused_saying_what_is_wrong(make, message):
    with pytest.raises(CollectionRuleError, match=message):
        make()
