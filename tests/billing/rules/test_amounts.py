from decimal import Decimal as D

import pytest

from hub.billing.rules.amounts import MINOR_UNITS, line_amounts, minor_units, round_money


@pytest.mark.parametrize(
    ("currency", "units"),
    [("EUR", 2), ("usd", 2), ("JPY", 0), ("KRW", 0), ("ISK", 0), ("CLP", 0), ("VND", 0),
     ("BHD", 3), ("KWD", 3), ("OMR", 3), ("JOD", 3), ("TND", 3), ("IQD", 3), ("LYD", 3),
     ("XYZ", 2)],
)
def test_minor_units_follow_iso_4217(currency, units):
    assert minor_units(currency) == units


def test_minor_units_table_only_lists_exceptions_to_two_decimals():
    assert all(v != 2 for v in MINOR_UNITS.values())


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (D("2.345"), "EUR", D("2.35")),
        (D("2.344"), "EUR", D("2.34")),
        (D("-2.345"), "EUR", D("-2.35")),
        (D("0.125"), "USD", D("0.13")),
        (D("100.5"), "JPY", D("101")),
        (D("100.49"), "JPY", D("100")),
        (D("1.2345"), "KWD", D("1.235")),
        (D("7"), "EUR", D("7.00")),
    ],
)
def test_round_money_is_half_up_to_the_minor_unit(amount, currency, expected):
    rounded = round_money(amount, currency)
    assert rounded == expected
    assert rounded.as_tuple().exponent == expected.as_tuple().exponent


@pytest.mark.parametrize(
    ("qty", "price", "amount", "percent", "currency", "gross", "net"),
    [
        (D("2"), D("10.00"), D("0"), D("0"), "EUR", D("20.00"), D("20.00")),
        (D("3"), D("9.99"), D("1.50"), D("0"), "EUR", D("29.97"), D("28.47")),
        (D("3"), D("9.99"), D("0"), D("10"), "EUR", D("29.97"), D("26.97")),  # 26.973
        (D("1"), D("0.05"), D("0"), D("50"), "EUR", D("0.05"), D("0.03")),  # 0.025 half-up
        (D("4"), D("10"), D("5"), D("10"), "EUR", D("40.00"), D("31.00")),  # both on the gross
        (D("3"), D("333"), D("0"), D("15"), "JPY", D("999"), D("849")),  # 849.15
        (D("1"), D("1001"), D("0"), D("0.05"), "JPY", D("1001"), D("1000")),  # 1000.4995
        (D("2"), D("1.2345"), D("0"), D("0"), "KWD", D("2.469"), D("2.469")),
        (D("3"), D("1.001"), D("0.0005"), D("0"), "KWD", D("3.003"), D("3.003")),  # 3.0025
        (D("0.5"), D("0.01"), D("0"), D("0"), "EUR", D("0.01"), D("0.01")),  # 0.005 once
        (D("1"), D("10"), D("10"), D("0"), "EUR", D("10.00"), D("0.00")),
    ],
)
def test_line_amounts_round_once_at_the_end(qty, price, amount, percent, currency, gross, net):
    assert line_amounts(qty, price, amount, percent, currency) == (gross, net)


def test_line_amounts_round_once_not_per_step():
    # 3 x 0.335 = 1.005 -> 1.01 (rounding the price first would give 3 x 0.34 = 1.02)
    gross, net = line_amounts(D("3"), D("0.335"), D("0"), D("0"), "EUR")
    assert gross == D("1.01")
    # net = 1.005 - 0.0025 - 0 = 1.0025 -> 1.00 (net from the rounded gross would be 1.01)
    _, net = line_amounts(D("3"), D("0.335"), D("0.0025"), D("0"), "EUR")
    assert net == D("1.00")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((D("-1"), D("10"), D("0"), D("0"), "EUR"), "quantity"),
        ((D("1"), D("-10"), D("0"), D("0"), "EUR"), "sales_price"),
        ((D("1"), D("10"), D("10.01"), D("0"), "EUR"), "discount_amount"),
        ((D("1"), D("10"), D("6"), D("50"), "EUR"), "discount_amount"),
        ((D("1"), D("10"), D("-1"), D("0"), "EUR"), "discount_amount"),
        ((D("1"), D("10"), D("0"), D("101"), "EUR"), "discount_percent"),
        ((D("1"), D("10"), D("0"), D("0"), "EURO"), "currency"),
        ((1.5, D("10"), D("0"), D("0"), "EUR"), "quantity"),
    ],
)
def test_line_amounts_refuse_bad_input_naming_the_field(args, field):
    with pytest.raises(ValueError, match=field):
        line_amounts(*args)


def test_a_discount_bigger_than_the_gross_says_so():
    with pytest.raises(ValueError, match="bigger than the gross"):
        line_amounts(D("1"), D("10"), D("11"), D("0"), "EUR")
