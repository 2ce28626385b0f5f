from datetime import date
from decimal import Decimal as D

import pytest

from hub.billing.rules.domain import PlanStatus, ReasonType
from hub.billing.rules.setup import (
    BillingRuleError,
    assert_plan_editable,
    change_reason_type,
    default_reason,
    transition_plan,
    validate_contract,
    validate_line,
    validate_program_type,
    validate_reason_defaults,
)

from .builders import line, plan

R = ReasonType


@pytest.mark.parametrize(("period", "sub"), [("Rolling", "Per Unit"), ("rolling", "per-unit")])
def test_program_type_accepts_rolling_per_unit(period, sub):
    validate_program_type(period, sub)


@pytest.mark.parametrize(
    ("period", "sub", "field"),
    [("Fixed", "Per Unit", "period_type"), ("Rolling", "Flat", "subscription_type"),
     ("", "Per Unit", "period_type")],
)
def test_program_type_refuses_anything_else_naming_the_field(period, sub, field):
    with pytest.raises(BillingRuleError) as err:
        validate_program_type(period, sub)
    assert err.value.field == field


CODES = {"NEW": {R.NEW, R.RENEWAL}, "PRICE": {R.CANCEL, R.DOWNGRADE}, "UP": {R.UPGRADE}}


def test_a_reason_code_may_belong_to_several_types_and_be_default_for_each():
    defaults = {R.NEW: "NEW", R.RENEWAL: "NEW", R.CANCEL: "PRICE"}
    validate_reason_defaults(CODES, defaults)
    assert default_reason(CODES, defaults, R.RENEWAL) == "NEW"
    assert default_reason(CODES, defaults, R.DOWNGRADE) is None


@pytest.mark.parametrize(
    ("defaults", "message"),
    [({R.NEW: "UP"}, "not a New reason code"), ({R.CANCEL: "GONE"}, "does not exist")],
)
def test_a_default_must_exist_and_be_of_its_type(defaults, message):
    with pytest.raises(BillingRuleError, match=message):
        validate_reason_defaults(CODES, defaults)
    with pytest.raises(BillingRuleError, match=message):
        default_reason(CODES, defaults, next(iter(defaults)))


P = PlanStatus


@pytest.mark.parametrize(
    ("current", "target"),
    [(P.DRAFT, P.PUBLISHED), (P.PUBLISHED, P.DRAFT), (P.DRAFT, P.CANCELLED),
     (P.PUBLISHED, P.CANCELLED)],
)
def test_allowed_plan_transitions(current, target):
    assert transition_plan(current, target) == target


@pytest.mark.parametrize(
    ("current", "target"),
    [(P.CANCELLED, P.DRAFT), (P.CANCELLED, P.PUBLISHED), (P.DRAFT, P.DRAFT),
     (P.PUBLISHED, P.PUBLISHED)],
)
def test_refused_plan_transitions(current, target):
    with pytest.raises(BillingRuleError, match="cannot become"):
        transition_plan(current, target)


def test_only_draft_plans_are_editable():
    assert_plan_editable(P.DRAFT)
    for status in (P.PUBLISHED, P.CANCELLED):
        with pytest.raises(BillingRuleError, match="only Draft"):
            assert_plan_editable(status)


BOUNDED = plan(start=date(2024, 1, 1), end=date(2024, 12, 31))


@pytest.mark.parametrize(
    "ln",
    [
        line(start=date(2024, 1, 1), end=date(2024, 12, 31)),
        line(start=date(2024, 6, 1)),  # no end: runs to the plan's end
        line(start=date(2024, 12, 31), end=date(2024, 12, 31)),
    ],
)
def test_valid_lines(ln):
    validate_line(BOUNDED, ln)


@pytest.mark.parametrize(
    ("ln", "field"),
    [
        (line(start=date(2023, 12, 31)), "start"),
        (line(start=date(2025, 1, 1), end=date(2025, 2, 1)), "start"),
        (line(start=date(2024, 1, 1), end=date(2025, 1, 1)), "end"),
        (line(start=date(2024, 3, 1), end=date(2024, 2, 1)), "end"),
        (line(quantity=D("0")), "quantity"),
        (line(sales_price=D("-1")), "sales_price"),
        (line(currency="EU"), "currency"),
        (line(currency="E1R"), "currency"),
        (line(discount_percent=D("120")), "discount_percent"),
        (line(discount_amount=D("25")), "discount_amount"),  # gross is 2 x 10
    ],
)
def test_invalid_lines_name_the_field(ln, field):
    with pytest.raises(BillingRuleError) as err:
        validate_line(BOUNDED, ln)
    assert err.value.field == field


def test_line_may_start_any_time_after_an_open_ended_plan_starts():
    validate_line(plan(start=date(2024, 1, 1)), line(start=date(2030, 1, 1)))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"end": date(2023, 12, 31)}, "global_end"),
        ({"fixed_cycles": 0}, "fixed_cycles"),
        ({"renewal_notice_days": -1}, "renewal_notice_days"),
    ],
)
def test_invalid_contracts_name_the_field(kwargs, field):
    with pytest.raises(BillingRuleError) as err:
        validate_contract(plan(start=date(2024, 1, 1), **kwargs).contract)
    assert err.value.field == field


def test_valid_contract_with_end_on_start_day():
    validate_contract(plan(start=date(2024, 1, 1), end=date(2024, 1, 1), fixed_cycles=1).contract)


def test_rule_error_message_names_the_field():
    error = BillingRuleError("quantity", "must be more than 0")
    assert str(error) == "quantity: must be more than 0"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [(D("100.00"), D("80.00"), R.DOWNGRADE), (D("80.00"), D("100.00"), R.UPGRADE), (D("80.00"), D("80.00"), None),
     (None, D("80.00"), None)],
    ids=["cheaper-is-downgrade", "dearer-is-upgrade", "same-is-neither", "new-line-is-neither"],
)
def test_a_line_change_is_an_upgrade_or_a_downgrade_by_its_amount_after_discount(before, after, expected):
    assert change_reason_type(before, after) == expected
