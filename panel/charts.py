"""Charts drawn on the server as SVG: no chart library, no script (the panel's policy allows none inline).

`line_chart` returns the SVG markup of a small line chart; every number in it is computed here and every
label escaped, so the template includes it as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape

WIDTH, HEIGHT = 420, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 10, 26


@dataclass(frozen=True)
class Series:
    name: str  # also its CSS class: series-<name>
    values: Sequence[int]


def _ceiling(value: int) -> int:
    """A round top for the y axis (1, 2, 5 × 10ⁿ) at or above `value`."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= value:
                return top * step
        top *= 10


def _points(values: Sequence[int], top: int) -> str:
    span = max(len(values) - 1, 1)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    return " ".join(
        f"{LEFT + inner_w * i / span:.1f},{TOP + inner_h * (1 - v / top):.1f}" for i, v in enumerate(values)
    )


def line_chart(*, title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """An SVG line chart of `series` over `labels` (x axis: first, middle and last label shown)."""
    top = _ceiling(max([2, *(v for s in series for v in s.values)]))  # 2 at least: ticks 0, 1, 2
    inner_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + inner_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{top * fraction:g}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP + inner_h}" x2="{WIDTH - RIGHT}" y2="{TOP + inner_h}"/>')
    if labels:
        shown = {0: "start", len(labels) // 2: "middle", len(labels) - 1: "end"}
        span = max(len(labels) - 1, 1)
        for index, anchor in shown.items():
            x = LEFT + (WIDTH - LEFT - RIGHT) * index / span
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">{escape(labels[index])}</text>')
    for line in series:
        parts.append(f'<polyline class="series-{escape(line.name)}" points="{_points(line.values, top)}"/>')
    parts.append("</svg>")
    return "".join(parts)
