from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from hub.billing.rules.credit import credit_key, credit_note_actions
from hub.billing.rules.domain import ActionType, PlanStatus
from hub.billing.rules.errors import BillingRuleError
from hub.billing.rules.generator import MAX_KEY_LENGTH, generate

from .builders import line, plan

TODAY = date(2024, 4, 15)
LINE = line(1, start=date(2024, 1, 1))
PUBLISHED = plan(LINE, pays_by_mandate=True)
POSTED = generate([PUBLISHED], TODAY).actions  # Jan..Apr sales orders + direct debits
DRAFT = replace(PUBLISHED, status=PlanStatus.DRAFT)


def credit(plan_terms=DRAFT, posted=POSTED, **kw):
    args = {"start_on": date(2024, 2, 1), "today": TODAY, "all_cycles": True,
            "periods_to_credit": None, "reason_code": "SERVICE", **kw}
    return credit_note_actions(plan_terms, LINE, posted, **args)


def test_credit_all_cycles_from_start_on_until_today():
    notes = credit()
    assert [(n.date_from, n.cycle, n.key) for n in notes] == [
        (date(2024, 2, 1), 2, "P1-L1-2024-02-01-SO-CN"),
        (date(2024, 3, 1), 3, "P1-L1-2024-03-01-SO-CN"),
        (date(2024, 4, 1), 4, "P1-L1-2024-04-01-SO-CN"),
    ]
    for n in notes:
        assert n.action_type == ActionType.CREDIT_NOTE and n.credit_note
        assert (n.gross_amount, n.net_amount) == (D("20.00"), D("20.00"))
        assert n.action_date == TODAY and n.reason_code == "SERVICE"


def test_credit_the_first_n_periods():
    notes = credit(all_cycles=False, periods_to_credit=2, start_on=date(2024, 1, 1))
    assert [n.date_from for n in notes] == [date(2024, 1, 1), date(2024, 2, 1)]


def test_start_on_mid_period_credits_periods_starting_after_it():
    notes = credit(start_on=date(2024, 3, 15))
    assert [n.date_from for n in notes] == [date(2024, 4, 1)]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"plan_terms": PUBLISHED}, "plan status"),
        ({"plan_terms": replace(PUBLISHED, status=PlanStatus.CANCELLED)}, "plan status"),
        ({"posted": []}, "line"),
        ({"posted": [a for a in POSTED if a.line_id != 1]}, "line"),
        ({"start_on": date(2023, 12, 31)}, "start_on"),
        ({"start_on": date(2024, 4, 16)}, "start_on"),
        ({"start_on": date(2024, 4, 2)}, "start_on"),  # nothing posted starts after it
        ({"all_cycles": False, "periods_to_credit": None}, "periods_to_credit"),
        ({"all_cycles": False, "periods_to_credit": 0}, "periods_to_credit"),
        ({"all_cycles": False, "periods_to_credit": 4}, "periods_to_credit"),  # only 3 posted
        ({"reason_code": ""}, "reason_code"),
    ],
)
def test_credit_note_refusals_name_the_field(kw, field):
    with pytest.raises(BillingRuleError) as err:
        credit(**kw)
    assert err.value.field == field


def test_credit_keys_fit_and_are_deterministic():
    long_key = "P123456789-L12345678-2024-01-01-SO"
    assert len(long_key) <= MAX_KEY_LENGTH < len(long_key + "-CN")
    short = credit_key(long_key)
    assert short == credit_key(long_key) and len(short) <= MAX_KEY_LENGTH
    assert short != credit_key("P123456789-L12345678-2024-02-01-SO")
    assert credit_key("P1-L1-2024-01-01-SO") == "P1-L1-2024-01-01-SO-CN"
