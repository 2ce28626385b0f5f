from datetime import date
from decimal import Decimal as D

import pytest

from hub.billing.rules.domain import ActionType, PlanStatus
from hub.billing.rules.errors import BillingRuleError
from hub.billing.rules.generator import MAX_KEY_LENGTH, action_key, current_cycle, effective_end, generate

from .builders import MONTHLY, QUARTERLY, YEARLY, line, plan

SO = ActionType.GENERATE_SALES_ORDER
DD = ActionType.DIRECT_DEBIT_PAYMENT
RN = ActionType.RENEWAL_NOTICE


def sales_orders(result):
    return [a for a in result.actions if a.action_type == SO]


def test_published_monthly_plan_bills_each_period_up_front():
    result = generate([plan(start=date(2024, 1, 1))], date(2024, 3, 15))
    orders = sales_orders(result)
    assert [(a.action_date, a.date_from, a.date_to, a.cycle) for a in orders] == [
        (date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 31), 1),
        (date(2024, 2, 1), date(2024, 2, 1), date(2024, 2, 29), 2),
        (date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 31), 3),
    ]
    first = orders[0]
    assert first.key == "P1-L1-2024-01-01-SO"
    assert (first.product, first.quantity, first.sales_price, first.currency, first.unit) == (
        "ITEM-1", D("2"), D("10.00"), "EUR", "PCS",
    )
    assert (first.gross_amount, first.net_amount) == (D("20.00"), D("20.00"))
    assert first.reason_code == "NEW"
    assert result.stopped is None and result.lines_to_disable == []


def test_anchor_day_kept_for_a_line_starting_jan_31_2024():
    p = plan(line(start=date(2024, 1, 31)), start=date(2024, 1, 1))
    result = generate([p], date(2024, 4, 30))
    assert [a.action_date for a in result.actions] == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30),
    ]


def test_line_starting_mid_plan_is_anchored_at_its_own_start():
    p = plan(line(1, start=date(2024, 1, 1)), line(2, start=date(2024, 2, 15)), billing=QUARTERLY)
    result = generate([p], date(2024, 6, 30))
    assert [(a.line_id, a.date_from, a.date_to, a.cycle) for a in result.actions] == [
        (1, date(2024, 1, 1), date(2024, 3, 31), 1),
        (1, date(2024, 4, 1), date(2024, 6, 30), 2),
        (2, date(2024, 2, 15), date(2024, 5, 14), 1),
        (2, date(2024, 5, 15), date(2024, 8, 14), 2),
    ]


def test_global_end_stops_and_clips_the_last_period():
    p = plan(start=date(2024, 1, 1), end=date(2024, 3, 15))
    result = generate([p], date(2025, 1, 1))
    assert [(a.date_from, a.date_to) for a in result.actions] == [
        (date(2024, 1, 1), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 15)),
    ]
    # amounts are per billing period, not prorated for the clipped one
    assert result.actions[-1].net_amount == D("20.00")


def test_period_starting_on_the_global_end_is_billed():
    p = plan(start=date(2024, 1, 1), end=date(2024, 2, 1))
    result = generate([p], date(2025, 1, 1))
    last = result.actions[-1]
    assert (last.date_from, last.date_to) == (date(2024, 2, 1), date(2024, 2, 1))


def test_line_end_stops_and_clips():
    p = plan(line(start=date(2024, 1, 1), end=date(2024, 2, 10)))
    result = generate([p], date(2025, 1, 1))
    assert [(a.date_from, a.date_to) for a in result.actions] == [
        (date(2024, 1, 1), date(2024, 1, 31)), (date(2024, 2, 1), date(2024, 2, 10)),
    ]


def test_fixed_cycles_are_counted_from_the_global_start():
    p = plan(line(1), line(2, start=date(2024, 2, 15)), start=date(2024, 1, 1), fixed_cycles=3)
    result = generate([p], date(2025, 1, 1))
    by_line = {
        ln: [(a.date_from, a.date_to) for a in result.actions if a.line_id == ln] for ln in (1, 2)
    }
    assert by_line[1] == [
        (date(2024, 1, 1), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 31)),
    ]
    assert by_line[2] == [
        (date(2024, 2, 15), date(2024, 3, 14)), (date(2024, 3, 15), date(2024, 3, 31)),
    ]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, None),
        ({"end": date(2024, 6, 30)}, date(2024, 6, 30)),
        ({"fixed_cycles": 12}, date(2024, 12, 31)),
        ({"fixed_cycles": 12, "end": date(2024, 6, 30)}, date(2024, 6, 30)),
        ({"fixed_cycles": 2, "end": date(2024, 6, 30)}, date(2024, 2, 29)),
    ],
)
def test_effective_end(kwargs, expected):
    p = plan(start=date(2024, 1, 1), **kwargs)
    assert effective_end(p.contract, p.billing) == expected


def test_only_periods_starting_by_as_of_are_generated():
    assert generate([plan(start=date(2024, 1, 1))], date(2023, 12, 31)).actions == []
    assert len(generate([plan(start=date(2024, 1, 1))], date(2024, 1, 1)).actions) == 1


@pytest.mark.parametrize("status", [PlanStatus.DRAFT, PlanStatus.CANCELLED])
def test_draft_and_cancelled_plans_get_nothing(status):
    p = plan(status=status, renewal_notice=True, end=date(2024, 3, 31))
    assert generate([p], date(2025, 1, 1)).actions == []


def test_disabled_lines_get_nothing():
    p = plan(line(1, enabled=False), line(2))
    assert {a.line_id for a in generate([p], date(2024, 3, 1)).actions} == {2}


def test_one_time_fee_bills_once_and_asks_to_disable_the_line():
    p = plan(line(1, one_time_fee=True), line(2))
    result = generate([p], date(2024, 6, 1))
    fee = [a for a in result.actions if a.line_id == 1]
    assert [(a.cycle, a.date_from, a.date_to) for a in fee] == [
        (1, date(2024, 1, 1), date(2024, 1, 31)),
    ]
    assert result.lines_to_disable == [1]


def test_one_time_fee_not_started_is_not_disabled():
    p = plan(line(1, start=date(2024, 5, 1), one_time_fee=True))
    result = generate([p], date(2024, 4, 1))
    assert result.actions == [] and result.lines_to_disable == []


def test_one_time_fee_already_billed_is_disabled_without_new_actions():
    p = plan(line(1, one_time_fee=True))
    first = generate([p], date(2024, 1, 1))
    again = generate([p], date(2024, 2, 1), existing_keys=[a.key for a in first.actions])
    assert again.actions == [] and again.lines_to_disable == [1]


def test_direct_debit_payment_per_sales_order_when_paying_by_mandate():
    result = generate([plan(pays_by_mandate=True)], date(2024, 2, 1))
    assert [(a.action_type, a.action_date, a.date_to, a.key) for a in result.actions] == [
        (SO, date(2024, 1, 1), date(2024, 1, 31), "P1-L1-2024-01-01-SO"),
        (DD, date(2024, 1, 1), date(2024, 1, 31), "P1-L1-2024-01-01-DD"),
        (SO, date(2024, 2, 1), date(2024, 2, 29), "P1-L1-2024-02-01-SO"),
        (DD, date(2024, 2, 1), date(2024, 2, 29), "P1-L1-2024-02-01-DD"),
    ]
    assert result.actions[1].net_amount == D("20.00")


def test_no_direct_debit_without_a_mandate():
    assert {a.action_type for a in generate([plan()], date(2024, 6, 1)).actions} == {SO}


@pytest.mark.parametrize(
    ("kwargs", "as_of", "expected"),
    [
        ({"end": date(2024, 12, 31)}, date(2024, 12, 1), (date(2024, 12, 1), "P1-RN-2024-12-31")),
        ({"end": date(2024, 12, 31)}, date(2024, 11, 30), None),  # not due yet
        ({"end": date(2024, 12, 31), "renewal_notice_days": 0}, date(2024, 12, 31),
         (date(2024, 12, 31), "P1-RN-2024-12-31")),
        ({"fixed_cycles": 12}, date(2025, 1, 1), (date(2024, 12, 1), "P1-RN-2024-12-31")),
        ({"fixed_cycles": 3, "renewal_notice_days": 10}, date(2025, 1, 1),
         (date(2024, 3, 21), "P1-RN-2024-03-31")),
        ({}, date(2030, 1, 1), None),  # open-ended: no end to renew
        ({"end": date(2024, 12, 31), "renewal_notice": False}, date(2025, 1, 1), None),
    ],
)
def test_renewal_notice_is_dated_notice_days_before_the_end(kwargs, as_of, expected):
    kwargs = {"renewal_notice": True, **kwargs}
    p = plan(line(start=date(2024, 1, 1), end=date(2024, 1, 31)), start=date(2024, 1, 1), **kwargs)
    notices = [a for a in generate([p], as_of).actions if a.action_type == RN]
    if expected is None:
        assert notices == []
    else:
        (notice,) = notices
        assert (notice.action_date, notice.key) == expected
        assert notice.line_id is None and notice.cycle is None


def test_running_twice_with_the_first_runs_keys_creates_nothing_new():
    plans = [
        plan(line(1), line(2, one_time_fee=True), pays_by_mandate=True, end=date(2024, 12, 31),
             renewal_notice=True),
        plan(line(3, start=date(2024, 3, 31)), plan_id=2, billing=MONTHLY, start=date(2024, 3, 1)),
    ]
    first = generate(plans, date(2024, 12, 15))
    assert len({a.key for a in first.actions}) == len(first.actions)
    second = generate(plans, date(2024, 12, 15), existing_keys={a.key for a in first.actions})
    assert second.actions == []
    later = generate(plans, date(2025, 1, 31), existing_keys={a.key for a in first.actions})
    assert [a.key for a in later.actions] == ["P2-L3-2024-12-31-SO", "P2-L3-2025-01-31-SO"]


def test_output_is_ordered_by_plan_line_date_type_whatever_the_input_order():
    plans = [
        plan(line(5), line(4), plan_id=2, pays_by_mandate=True, end=date(2024, 3, 31),
             renewal_notice=True),
        plan(line(1), plan_id=1),
    ]
    actions = generate(plans, date(2024, 3, 31)).actions
    assert actions == generate(list(reversed(plans)), date(2024, 3, 31)).actions
    order = [(a.plan_id, a.line_id, a.action_date, a.action_type) for a in actions]
    assert order[:3] == [(1, 1, date(2024, m, 1), SO) for m in (1, 2, 3)]
    assert order[3:5] == [(2, 4, date(2024, 1, 1), SO), (2, 4, date(2024, 1, 1), DD)]
    assert order[-1] == (2, None, date(2024, 3, 1), RN)


def test_allowance_stops_the_run_and_says_why():
    p = plan(pays_by_mandate=True)
    result = generate([p], date(2024, 6, 1), allowance=5)
    assert len(result.actions) == 5
    assert result.stopped == "the monthly allowance of 5 actions is used up; 7 more actions wait"
    # the rest comes on the next run with a fresh allowance
    done = {a.key for a in result.actions}
    rest = generate([p], date(2024, 6, 1), existing_keys=done, allowance=65)
    assert len(rest.actions) == 7 and rest.stopped is None


def test_allowance_exactly_enough_does_not_stop():
    result = generate([plan()], date(2024, 3, 1), allowance=3)
    assert len(result.actions) == 3 and result.stopped is None


def test_allowance_zero_with_nothing_to_do_does_not_stop():
    assert generate([plan()], date(2023, 1, 1), allowance=0).stopped is None


def test_one_time_fee_cut_by_the_allowance_is_not_disabled():
    p = plan(line(1, one_time_fee=True), pays_by_mandate=True)
    result = generate([p], date(2024, 1, 1), allowance=1)
    assert [a.action_type for a in result.actions] == [SO]
    assert result.lines_to_disable == []
    assert result.stopped == "the monthly allowance of 1 action is used up; 1 more action waits"


def test_keys_fit_the_erp_document_number():
    p = plan(line(999_999_999, start=date(2024, 1, 31)), plan_id=999_999_999, pays_by_mandate=True,
             end=date(2024, 12, 31), renewal_notice=True)
    keys = [a.key for a in generate([p], date(2024, 12, 31)).actions]
    assert keys and all(len(k) <= MAX_KEY_LENGTH for k in keys)


def test_a_key_too_long_for_the_erp_is_refused():
    with pytest.raises(BillingRuleError, match="35"):
        action_key(10**12, 10**8, date(2024, 1, 1), SO)


def test_bad_line_amounts_name_the_plan_and_line():
    p = plan(line(7, discount_amount=D("100")), plan_id=3)
    with pytest.raises(BillingRuleError, match="plan 3 line 7 discount_amount"):
        generate([p], date(2024, 1, 1))


def test_yearly_plan_with_discounts_uses_the_line_amounts():
    p = plan(line(quantity=D("3"), sales_price=D("9.99"), discount_amount=D("1.50"),
                  discount_percent=D("10")), billing=YEARLY)
    (a,) = generate([p], date(2024, 12, 31)).actions
    assert (a.date_to, a.gross_amount, a.net_amount) == (date(2024, 12, 31), D("29.97"), D("25.47"))
    assert (a.discount_amount, a.discount_percent) == (D("1.50"), D("10"))


@pytest.mark.parametrize(
    ("the_line", "as_of", "expected"),
    [
        (line(start=date(2024, 1, 31)), date(2024, 3, 1), (date(2024, 2, 29), date(2024, 3, 30))),
        (line(start=date(2024, 1, 31)), date(2024, 3, 31), (date(2024, 3, 31), date(2024, 4, 29))),
        (line(start=date(2024, 1, 31)), date(2024, 1, 30), None),  # not started
        (line(start=date(2024, 1, 1), end=date(2024, 2, 10)), date(2024, 2, 10), (date(2024, 2, 1), date(2024, 2, 10))),
        (line(start=date(2024, 1, 1), end=date(2024, 2, 10)), date(2024, 2, 11), None),  # ended
        (line(start=date(2024, 1, 1), one_time_fee=True), date(2024, 1, 20), (date(2024, 1, 1), date(2024, 1, 31))),
        (line(start=date(2024, 1, 1), one_time_fee=True), date(2024, 2, 1), None),  # billed once, over
    ],
    ids=["anchor-feb-29", "anchor-mar-31", "before-start", "clipped-by-line-end", "after-line-end",
         "one-time-fee-in-cycle", "one-time-fee-after"],
)
def test_current_cycle_is_the_billing_period_containing_the_day(the_line, as_of, expected):
    period = current_cycle(plan(the_line, start=date(2024, 1, 1)), the_line, as_of)
    assert (None if period is None else (period.start, period.end)) == expected


@pytest.mark.parametrize(
    ("as_of", "through", "cycle", "skip"),
    [
        (date(2024, 3, 20), None, (date(2024, 3, 1), date(2024, 3, 31)), False),  # never run: compute
        (date(2024, 3, 20), date(2024, 3, 15), (date(2024, 3, 1), date(2024, 3, 31)), True),  # same cycle
        (date(2024, 4, 1), date(2024, 3, 15), (date(2024, 3, 1), date(2024, 3, 31)), False),  # next period due
        (date(2024, 3, 10), date(2024, 3, 15), (date(2024, 3, 1), date(2024, 3, 31)), False),  # an earlier day
        (date(2023, 12, 1), date(2023, 11, 1), None, True),  # not started yet
        (date(2024, 1, 1), date(2023, 11, 1), None, False),  # starts today
        (date(2025, 6, 1), date(2025, 2, 1), None, True),  # over: nothing will ever be due
    ],
)
def test_a_line_is_skipped_only_while_its_last_run_left_nothing_new(as_of, through, cycle, skip):
    from hub.billing.rules.generator import nothing_due

    assert nothing_due(line(start=date(2024, 1, 1)), as_of, through, cycle) is skip


def test_the_result_gives_each_lines_current_cycle():
    result = generate([plan(start=date(2024, 1, 1))], date(2024, 3, 15))
    assert list(result.cycles.values()) == [(date(2024, 3, 1), date(2024, 3, 31))]
