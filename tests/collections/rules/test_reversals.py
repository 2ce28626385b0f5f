"""How much money may go back on a payment, and which invoices it reopens."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hub.collections.rules import CollectionRuleError
from hub.collections.rules.reversals import left_to_give_back, refund_amount, reopened_parts


def test_what_is_left_counts_refunds_and_chargebacks_and_never_goes_below_zero() -> None:
    assert left_to_give_back(D("100.00"), D("30.00"), D("20.00")) == D("50.00")
    assert left_to_give_back(D("100.00"), D("80.00"), D("30.00")) == D(0)


@pytest.mark.parametrize(("requested", "left", "currency", "expected"), [
    (None, D("50.00"), "USD", D("50.00")),
    (D("12.34"), D("50.00"), "USD", D("12.34")),
    (D("50.00"), D("50.00"), "USD", D("50.00")),
    (D("500"), D("1000"), "JPY", D("500")),
])
def test_a_refund_is_all_that_is_left_or_a_part_no_larger(requested, left, currency, expected) -> None:
    assert refund_amount(requested, left, currency) == expected


@pytest.mark.parametrize(("requested", "left", "currency", "says"), [
    (D("50.01"), D("50.00"), "USD", "more than the 50.00 USD left to refund"),
    (D("0"), D("50.00"), "USD", "positive"),
    (D("-1"), D("50.00"), "USD", "positive"),
    (D("1.005"), D("50.00"), "USD", "more decimals than USD's 2"),
    (D("1.5"), D("100"), "JPY", "more decimals than JPY's 0"),
    (None, D("0"), "USD", "nothing is left to refund"),
])
def test_a_refund_too_large_or_malformed_is_refused_naming_the_amount(requested, left, currency, says) -> None:
    with pytest.raises(CollectionRuleError, match=says) as refused:
        refund_amount(requested, left, currency)
    assert refused.value.field == "amount"


def test_money_going_back_reopens_the_last_paid_invoice_first_up_to_each_part() -> None:
    parts = [(1, D("60.00")), (2, D("40.00"))]

    assert reopened_parts(D("30.00"), parts, D(0)) == [(2, D("30.00"))]
    assert reopened_parts(D("30.00"), parts, D("30.00")) == [(2, D("10.00")), (1, D("20.00"))]
    assert reopened_parts(D("100.00"), parts, D(0)) == [(2, D("40.00")), (1, D("60.00"))]
    assert reopened_parts(D("10.00"), [(1, D("50.00"))], D("50.00")) == []  # beyond what was paid: reopens nothing
