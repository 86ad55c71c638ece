"""Dashboard charts drawn on the server as inline SVG: no JavaScript, no CDN, nothing to vendor.

A :class:`Chart` holds the numbers (one value per x label and series, computed by the dashboard's
aggregate queries); :func:`bar_chart_svg` draws them as stacked bars, each segment with a tooltip
giving its exact value, and a legend. Colours are fixed per series name so a type keeps its
colour from one chart to the next; text uses ``currentColor`` so both admin themes read well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 10, 26
PALETTE = ["#417690", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#8c6bb1", "#999999"]
FIXED_COLOURS = {
    "deposit": "#417690",
    "withdrawal": "#e69f00",
    "transfer": "#009e73",
    "reversal": "#cc79a7",
    "adjustment": "#56b4e9",
    "fee": "#8c6bb1",
    "transactions": "#d55e00",
    "Stripe events": "#8c6bb1",
    "outbox rows": "#999999",
}


def colour_of(name: str, index: int) -> str:
    return FIXED_COLOURS.get(name, PALETTE[index % len(PALETTE)])


def _count_text(value: Decimal) -> str:
    return str(int(value))


@dataclass
class Series:
    name: str
    values: list[Decimal]


@dataclass
class Chart:
    """Stacked bars: ``labels`` along the x axis, one value per label in each series."""

    key: str
    title: str
    labels: list[str]
    series: list[Series] = field(default_factory=list)
    value_text: Callable[[Decimal], str] = _count_text
    unit: str = ""
    step: Decimal = Decimal(1)  # the smallest value (1 for counts, the currency's minor unit)

    def totals(self) -> list[Decimal]:
        return [sum((s.values[i] for s in self.series), Decimal(0)) for i in range(len(self.labels))]

    def values_of(self, name: str) -> list[Decimal]:
        return next((s.values for s in self.series if s.name == name), [Decimal(0)] * len(self.labels))

    @property
    def svg(self) -> SafeString:
        return bar_chart_svg(self)


def nice_top(peak: Decimal, step: Decimal) -> Decimal:
    """The top of the y axis: the smallest 1, 2 or 4 x 10^k steps at or above ``peak`` (and at
    least two steps), so the axis's middle is a whole number of steps too."""
    base = step
    while True:
        for multiple in (1, 2, 4):
            candidate = base * multiple
            if candidate >= peak and candidate >= 2 * step:
                return candidate
        base *= 10


def _px(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.1")), "f")


def bar_chart_svg(chart: Chart) -> SafeString:
    """``chart`` as a ``<figure>``: an SVG of stacked bars with a tooltip per segment, and a legend."""
    count = len(chart.labels)
    plot_w, plot_h = Decimal(WIDTH - LEFT - RIGHT), Decimal(HEIGHT - TOP - BOTTOM)
    totals = chart.totals()
    peak = max(totals, default=Decimal(0))
    top = nice_top(peak, chart.step)
    parts: list[str] = [
        format_html(
            '<title id="chart-{}-title">{}{}</title>',
            chart.key,
            chart.title,
            format_html(" ({})", chart.unit) if chart.unit else "",
        ),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-opacity="0.4"/>',
            LEFT,
            HEIGHT - BOTTOM,
            WIDTH - RIGHT,
            HEIGHT - BOTTOM,
        ),
    ]
    if peak <= 0 or count == 0:
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" fill="currentColor" font-size="13">nothing to show</text>',
                WIDTH // 2,
                HEIGHT // 2,
            )
        )
    else:
        for fraction in (Decimal("0.5"), Decimal(1)):
            y = _px(TOP + plot_h * (1 - fraction))
            parts.append(
                format_html(
                    '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-opacity="0.15"/>'
                    '<text x="{}" y="{}" text-anchor="end" fill="currentColor" font-size="11">{}</text>',
                    LEFT,
                    y,
                    WIDTH - RIGHT,
                    y,
                    LEFT - 4,
                    _px(Decimal(y) + 4),
                    chart.value_text(top * fraction),
                )
            )
        slot = plot_w / count
        bar = slot * Decimal("0.72")
        every = max(1, count // 6)
        for i, label in enumerate(chart.labels):
            x = LEFT + slot * i + (slot - bar) / 2
            base = Decimal(HEIGHT - BOTTOM)
            for index, series in enumerate(chart.series):
                value = series.values[i]
                if value <= 0:
                    continue
                # at least 2 px, so a small amount next to a large one still shows (its
                # tooltip has the exact value)
                height = max(plot_h * value / top, Decimal(2))
                base -= height
                parts.append(
                    format_html(
                        '<rect class="bo-bar" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                        "<title>{}: {} {}{}</title></rect>",
                        _px(x),
                        _px(base),
                        _px(bar),
                        _px(height),
                        colour_of(series.name, index),
                        label,
                        series.name,
                        chart.value_text(value),
                        f" {chart.unit}" if chart.unit else "",
                    )
                )
            if i % every == 0 or i == count - 1:
                parts.append(
                    format_html(
                        '<text x="{}" y="{}" text-anchor="middle" fill="currentColor" font-size="11">{}</text>',
                        _px(x + bar / 2),
                        HEIGHT - BOTTOM + 15,
                        label,
                    )
                )
    legend = format_html_join(
        " ",
        '<span class="bo-legend"><span class="bo-swatch" style="background:{}"></span>{}</span>',
        ((colour_of(s.name, i), s.name) for i, s in enumerate(chart.series)),
    )
    body = mark_safe("".join(parts))  # noqa: S308 - every part above is built by format_html
    return format_html(
        '<figure class="bo-chart" id="chart-{}"><figcaption>{}{}</figcaption>'
        '<svg viewBox="0 0 {} {}" role="img" aria-labelledby="chart-{}-title" '
        'xmlns="http://www.w3.org/2000/svg">{}</svg><div class="bo-legends">{}</div></figure>',
        chart.key,
        chart.title,
        format_html(" ({})", chart.unit) if chart.unit else "",
        WIDTH,
        HEIGHT,
        chart.key,
        body,
        legend,
    )
