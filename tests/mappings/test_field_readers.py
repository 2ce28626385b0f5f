"""The field readers every mapping uses: amounts stay exact whatever JSON type carries them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mappings.base import MappingError, money


@pytest.mark.parametrize(("raw", "expected"), [
    (15, Decimal(15)),
    (0.1, Decimal("0.1")),  # the JSON text, not the binary float's 0.1000000000000000055…
    (7784.35, Decimal("7784.35")),
    (-3892.18, Decimal("-3892.18")),
    ("12.3400", Decimal("12.3400")),
])
def test_amounts_keep_the_json_text_exactly(raw: object, expected: Decimal) -> None:
    found = money({"amount": raw}, "amount")
    assert found == expected and str(found) == str(expected)


def test_amount_under_another_key_case_is_still_read() -> None:
    assert money({"Amount": 2.5}, "amount") == Decimal("2.5")
    assert money({"amount": None}, "amount") is None and money({}, "amount") is None


@pytest.mark.parametrize(("raw", "reason"), [
    (True, "is not an amount"),
    (float("inf"), "is not a finite amount"),
    (float("nan"), "is not a finite amount"),
    ("NaN", "is not a finite amount"),
    ("12,50", "is not an amount"),
])
def test_a_value_that_is_no_amount_names_the_field(raw: object, reason: str) -> None:
    with pytest.raises(MappingError) as caught:
        money({"amount": raw}, "amount")
    assert caught.value.field == "amount" and caught.value.reason.startswith(reason)


def test_a_required_amount_that_is_missing_names_the_field() -> None:
    with pytest.raises(MappingError, match="amount: is missing"):
        money({"amount": None}, "amount", required=True)
