"""Charts are drawn server-side as SVG: bars proportional to the values, text escaped."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from hub.web.charts import bar_chart, nice_ceiling


@pytest.mark.parametrize(("value", "expected"), [(0, 1), (1, 1), (7, 10), (12, 20), (23, 25), (40, 50), (0.3, 0.5),
                                                  (1001, 2000)])
def test_scale_tops_are_round_numbers(value: float, expected: float) -> None:
    assert nice_ceiling(value) == pytest.approx(expected)


def _bars(svg: str) -> list[tuple[float, float]]:
    return [(float(y), float(h)) for y, h in re.findall(r'<rect class="bar" x="[^"]+" y="([^"]+)" width="[^"]+" '
                                                        r'height="([^"]+)"', svg)]


def test_bar_heights_are_proportional_and_each_value_has_a_tooltip() -> None:
    svg = str(bar_chart("Revenue", ["Jan", "Feb"], {"USD": [Decimal("50"), Decimal("100")], "EUR": [0, 25]}))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    (_, usd_jan), (_, eur_jan), (_, usd_feb), (_, eur_feb) = _bars(svg)
    assert usd_feb == pytest.approx(2 * usd_jan, rel=0.01)
    assert usd_feb == pytest.approx(4 * eur_feb, rel=0.01)
    assert eur_jan == 0.5  # a zero is a hairline, not nothing
    assert "<title>USD Feb: 100</title>" in svg and ">EUR</text>" in svg


def test_negative_values_hang_below_the_zero_line() -> None:
    svg = str(bar_chart("Revenue", ["Mar"], {"USD": [Decimal("-10")]}))
    zero = float(re.search(r'class="zero"', svg) and re.search(r'y1="([^"]+)" y2="[^"]+" class="zero"', svg).group(1))
    (top, height), = _bars(svg)
    assert top == pytest.approx(zero) and height > 0


def test_labels_and_titles_are_escaped() -> None:
    svg = str(bar_chart("<script>", ["a&b"], {"<x>": [1]}))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a&amp;b" in svg and "&lt;x&gt;" in svg
