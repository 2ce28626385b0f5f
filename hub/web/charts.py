"""Charts drawn as inline SVG on the server: grouped bars with a zero line, a scale and a legend.

Pure functions of labels and numbers; no JavaScript and nothing fetched from the internet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2")
Number = int | float | Decimal


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (a readable top of scale)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if abs(value) >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def bar_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[Number]], *,
              width: int = 640, height: int = 240) -> Markup:
    """A grouped bar chart: one group per label, one bar per series, negative values below zero."""
    left, right, top, bottom = 48, 8, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(v) for vals in series.values() for v in vals]
    hi = nice_ceiling(max([0.0, *values]))
    lo = -nice_ceiling(-min(values)) if values and min(values) < 0 else 0.0
    span = hi - lo

    def y(v: float) -> float:
        return top + plot_h * (hi - v) / span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>']
    for i in range(5):
        v = lo + span * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y(v) + 4:.1f}" class="tick" text-anchor="end">{_fmt(v)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" class="zero"/>')
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1.0)
    every = max(1, math.ceil(groups / 12))  # at most ~12 axis labels
    for g, label in enumerate(labels):
        x0 = left + g * group_w + group_w * 0.1
        for k, (name, vals) in enumerate(series.items()):
            v = float(vals[g]) if g < len(vals) else 0.0
            top_y, bottom_y = sorted((y(v), y(0)))
            parts.append(f'<rect class="bar" x="{x0 + k * bar_w:.1f}" y="{top_y:.1f}" width="{bar_w - 1:.1f}" '
                         f'height="{max(bottom_y - top_y, 0.5):.1f}" fill="{PALETTE[k % len(PALETTE)]}">'
                         f'<title>{escape(name)} {escape(label)}: {escape(str(vals[g]) if g < len(vals) else "0")}'
                         f'</title></rect>')
        if g % every == 0:
            parts.append(f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{height - bottom + 16}" '
                         f'class="tick" text-anchor="middle">{escape(label)}</text>')
    for k, name in enumerate(series):
        lx = left + k * 110
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>'
                     f'<text x="{lx + 14}" y="{height - 5}" class="legend">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
