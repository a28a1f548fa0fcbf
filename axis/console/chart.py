"""A bar chart as geometry for an inline SVG: no JavaScript, no image files, no chart library.

The page's template draws the rectangles this computes; the numbers are also in the page as a
table, so the chart is a picture of data a screen reader can read elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

WIDTH: Final = 720
HEIGHT: Final = 220
_LEFT: Final = 40
_BOTTOM: Final = 24
_TOP: Final = 12


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    show_label: bool


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    left: int
    baseline: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]


def nice_top(peak: int) -> int:
    """The axis's top: the peak rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= peak:
                return step * top
        top *= 10


def bar_chart(values: Sequence[int], names: Sequence[str], *, label_every: int = 3) -> BarChart:
    """Bars of ``values`` (named by ``names``), scaled to the chart's height, with 0/half/top
    ticks; every ``label_every``-th bar is named under the axis."""
    top = nice_top(max(values, default=0))
    plot_height = HEIGHT - _BOTTOM - _TOP
    baseline = float(HEIGHT - _BOTTOM)
    slot = (WIDTH - _LEFT) / max(1, len(values))
    bars = []
    for index, (value, name) in enumerate(zip(values, names, strict=True)):
        height = plot_height * value / top
        bars.append(
            Bar(
                x=round(_LEFT + index * slot + slot * 0.15, 2),
                y=round(baseline - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                value=value,
                label=name,
                show_label=index % label_every == 0,
            )
        )
    ticks = tuple(
        Tick(round(baseline - plot_height * part / 2, 2), top * part // 2)
        for part in (0, 1, 2)
        if part != 1 or top % 2 == 0
    )
    return BarChart(WIDTH, HEIGHT, _LEFT, baseline, tuple(bars), ticks)
