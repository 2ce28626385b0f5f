from decimal import Decimal as D

import pytest

from connectors.money import MoneyError, as_decimal, minor_units, round_money


def test_money_errors_are_value_errors_naming_the_field():
    with pytest.raises(MoneyError, match="currency: must be a 3-letter ISO 4217 code, not 'EURO'") as caught:
        minor_units("EURO")
    assert isinstance(caught.value, ValueError)
    assert (caught.value.field, caught.value.reason) == ("currency", "must be a 3-letter ISO 4217 code, not 'EURO'")


def test_round_money_refuses_a_float_amount():
    with pytest.raises(MoneyError, match="amount: must be a Decimal"):
        round_money(1.5, "EUR")  # type: ignore[arg-type]


def test_round_money_checks_the_currency_before_the_amount():
    with pytest.raises(MoneyError, match="currency"):
        round_money(1.5, "??")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, 1.0, "1"])
def test_as_decimal_accepts_only_decimals_and_ints(value):
    with pytest.raises(MoneyError, match="^price: must be a Decimal"):
        as_decimal(value, "price")


def test_round_money_is_half_up():
    assert round_money(D("0.125"), "USD") == D("0.13")
    assert round_money(3, "KWD") == D("3.000")
