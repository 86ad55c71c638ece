"""The server-side SVG charts of the dashboard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.charts import Chart, Series, bar_chart_svg, nice_top


@pytest.mark.parametrize(
    ("peak", "step", "top"),
    [
        (Decimal("16.51"), Decimal("0.01"), Decimal("20.00")),
        (Decimal("1.385"), Decimal("0.001"), Decimal("2.000")),
        (Decimal("0.125"), Decimal("0.001"), Decimal("0.200")),
        (Decimal("7"), Decimal("1"), Decimal("10")),
        (Decimal("3"), Decimal("1"), Decimal("4")),
        (Decimal("1"), Decimal("1"), Decimal("2")),  # at least two steps: the middle is a whole step
        (Decimal("0"), Decimal("1"), Decimal("2")),
    ],
)
def test_the_axis_top_is_a_round_number_of_steps(peak: Decimal, step: Decimal, top: Decimal) -> None:
    assert nice_top(peak, step) == top
    assert (top / 2) % step == 0


def test_bars_stack_with_a_tooltip_each_and_text_is_escaped() -> None:
    # given
    chart = Chart(
        key="t",
        title="<Counts>",
        labels=["a", "b"],
        series=[Series("x<y", [Decimal(1), Decimal(0)]), Series("z", [Decimal(3), Decimal(2)])],
    )
    # when
    svg = bar_chart_svg(chart)
    # then three segments (no bar for a zero), each with its value, nothing unescaped
    assert svg.count('class="bo-bar"') == 3
    assert "<title>a: x&lt;y 1</title>" in svg and "<title>a: z 3</title>" in svg and "<title>b: z 2</title>" in svg
    assert "<Counts>" not in svg and "&lt;Counts&gt;" in svg
    assert chart.totals() == [Decimal(4), Decimal(2)]


def test_an_empty_chart_says_so() -> None:
    chart = Chart(key="e", title="Nothing", labels=["a"], series=[Series("x", [Decimal(0)])])
    assert "nothing to show" in chart.svg and "bo-bar" not in chart.svg
