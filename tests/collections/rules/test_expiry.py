from datetime import date

import pytest

from hub.collections.rules import CollectionRuleError, card_expiring_key, card_expiry_date, card_expiry_notice_due


@pytest.mark.parametrize(
    ("month", "year", "last_day"),
    [
        (9, 12, date(2012, 9, 30)),
        (2, 2024, date(2024, 2, 29)),
        (2, 25, date(2025, 2, 28)),
        (12, 2030, date(2030, 12, 31)),
    ],
)
def test_a_card_is_valid_to_the_last_day_of_its_expiry_month(month, year, last_day):
    assert card_expiry_date(month, year) == last_day


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2012, 8, 30), False),
        (date(2012, 8, 31), True),
        (date(2012, 9, 30), True),
        (date(2012, 11, 1), True),
    ],  # already expired and never warned: warn now
)
def test_the_expiry_warning_is_due_30_days_before_the_last_valid_day(today, due):
    assert card_expiry_notice_due(9, 12, today) is due


def test_the_warning_window_can_be_changed():
    assert card_expiry_notice_due(9, 2012, date(2012, 9, 1), days_before=7) is False
    assert card_expiry_notice_due(9, 2012, date(2012, 9, 23), days_before=7) is True


def test_one_key_per_card_and_expiry_so_a_renewed_card_warns_again():
    assert (
        card_expiring_key("tok-1", 9, 12)
        == card_expiring_key("tok-1", 9, 2012)
        == "card_expiring:tok-1:2012-09"
    )
    assert card_expiring_key("tok-1", 9, 15) != card_expiring_key("tok-1", 9, 12)


@pytest.mark.parametrize(
    ("month", "year", "field"),
    [
        (0, 12, "expiry_month"),
        (13, 12, "expiry_month"),
        (9, 1999, "expiry_year"),
        (9, 212, "expiry_year"),
    ],
)
def test_a_bad_expiry_is_refused_naming_the_field(month, year, field):
    with pytest.raises(CollectionRuleError, match=field):
        card_expiry_date(month, year)
