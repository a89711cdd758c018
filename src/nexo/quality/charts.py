"""Small inline SVG charts for the HTML report: no JavaScript, no fonts or files to fetch.

Every value is a score between 0 and 1 (or ``None`` when nothing was checked). Each function
returns an ``<svg>`` element as text, with a ``<title>`` per mark so a hover shows the figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#0b7285", "#5c940d")
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def axis_floor(values: Sequence[float | None]) -> float:
    """Lowest tick of the score axis: a round tenth under the smallest score (0.0 at least)."""
    present = [v for v in values if v is not None]
    low = min(present, default=1.0)
    return max(0.0, math.floor((low - 0.02) * 10) / 10)


def _pct(v: float) -> str:
    return f"{v:.1%}"


def ticks(floor: float) -> list[float]:
    """Round ticks from 100% down to ``floor``, at most six of them."""
    span = 1 - floor
    step = next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25) if span / s <= 5), 0.25)
    out, k = [], 0
    while 1 - k * step >= floor - 1e-9:
        out.append(round(1 - k * step, 4))
        k += 1
    return out


def _y_axis(x0: int, y0: int, height: int, floor: float, width: int) -> list[str]:
    out = []
    for value in ticks(floor):
        y = y0 + height - (height * (value - floor) / (1 - floor) if floor < 1 else 0)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + width}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(
            f'<text x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{value:.0%}</text>'
        )
    return out


def _legend(names: Sequence[str], x: int, y: int) -> list[str]:
    out = []
    for i, name in enumerate(names):
        xx = x + i * 110
        out.append(f'<rect x="{xx}" y="{y - 9}" width="10" height="10" fill="{color(i)}"/>')
        out.append(f'<text x="{xx + 14}" y="{y}" {FONT}>{escape(name)}</text>')
    return out


def grouped_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    links: Mapping[tuple[str, str], str] | None = None,
    *,
    title: str,
) -> str:
    """One group per category (dimension), one bar per series (agency)."""
    links = links or {}
    names = list(series)
    floor = axis_floor([v for vs in series.values() for v in vs])
    x0, y0, height = 48, 24, 180
    group_w = max(60, 24 * len(names) + 20)
    width = group_w * len(categories)
    parts = [f'<text x="{x0}" y="14" {FONT} font-weight="bold">{escape(title)}</text>']
    parts += _y_axis(x0, y0, height, floor, width)
    bar_w = (group_w - 20) / max(1, len(names))
    for ci, cat in enumerate(categories):
        gx = x0 + ci * group_w + 10
        for si, name in enumerate(names):
            v = series[name][ci]
            x = gx + si * bar_w
            if v is None:
                parts.append(f'<text x="{x + 2:.1f}" y="{y0 + height - 4}" {FONT}>n/a</text>')
                continue
            h = height * max(0.0, v - floor) / (1 - floor) if floor < 1 else 0
            rect = (
                f'<rect x="{x:.1f}" y="{y0 + height - h:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}" fill="{color(si)}"><title>{escape(name)} · {escape(cat)}: '
                f"{_pct(v)}</title></rect>"
            )
            href = links.get((name, cat))
            parts.append(f'<a href="{escape(href)}">{rect}</a>' if href else rect)
        parts.append(
            f'<text x="{gx + (group_w - 20) / 2:.1f}" y="{y0 + height + 14}" text-anchor="middle" '
            f"{FONT}>{escape(cat)}</text>"
        )
    parts += _legend(names, x0, y0 + height + 34)
    total_w, total_h = x0 + width + 10, y0 + height + 44
    return _svg(total_w, total_h, parts, title)


def line_chart(
    x_labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *, title: str
) -> str:
    """Scores over time: one line per series (dimension), one point per run."""
    floor = axis_floor([v for vs in series.values() for v in vs])
    x0, y0, height = 48, 24, 160
    step = 100 if len(x_labels) > 1 else 0
    width = max(200, step * (len(x_labels) - 1) + 40)
    parts = [f'<text x="{x0}" y="14" {FONT} font-weight="bold">{escape(title)}</text>']
    parts += _y_axis(x0, y0, height, floor, width)

    def y_of(v: float) -> float:
        return y0 + height - (height * (v - floor) / (1 - floor) if floor < 1 else 0)

    for si, (name, values) in enumerate(series.items()):
        points = [(x0 + 20 + i * step, y_of(v), v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{color(si)}" stroke-width="2"/>'
            )
        for x, y, v in points:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color(si)}">'
                f"<title>{escape(name)}: {_pct(v)}</title></circle>"
            )
    for i, label in enumerate(x_labels):
        parts.append(
            f'<text x="{x0 + 20 + i * step}" y="{y0 + height + 14}" text-anchor="middle" '
            f"{FONT}>{escape(label)}</text>"
        )
    parts += _legend(list(series), x0, y0 + height + 34)
    legend_w = x0 + 110 * len(series)
    return _svg(max(x0 + width + 10, legend_w), y0 + height + 44, parts, title)


def hbars(items: Sequence[tuple[str, float, str | None]], *, title: str) -> str:
    """Worst rules: one horizontal bar per (label, score, link)."""
    floor = axis_floor([v for _, v, _ in items])
    longest = max((len(label) for label, _, _ in items), default=10)
    x0, label_w, bar_max, row_h = 8, int(longest * 6.0) + 12, 260, 20
    parts = [f'<text x="{x0}" y="14" {FONT} font-weight="bold">{escape(title)}</text>']
    for i, (label, v, href) in enumerate(items):
        y = 24 + i * row_h
        w = bar_max * (v - floor) / (1 - floor) if floor < 1 else 0
        text = f'<text x="{x0}" y="{y + 13}" {FONT}>{escape(label)}</text>'
        parts.append(f'<a href="{escape(href)}">{text}</a>' if href else text)
        parts.append(
            f'<rect x="{x0 + label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="14" '
            f'fill="{color(1)}"><title>{escape(label)}: {_pct(v)}</title></rect>'
        )
        parts.append(
            f'<text x="{x0 + label_w + max(w, 1) + 4:.1f}" y="{y + 14}" {FONT}>{_pct(v)}</text>'
        )
    note = f"axis from {floor:.0%} to 100%"
    parts.append(
        f'<text x="{x0 + label_w}" y="{24 + len(items) * row_h + 12}" {FONT} '
        f'fill="#666">{note}</text>'
    )
    return _svg(x0 + label_w + bar_max + 60, 24 + len(items) * row_h + 20, parts, title)


def _svg(width: float, height: float, parts: list[str], title: str) -> str:
    body = "".join(parts)
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{escape(title)}">{body}</svg>'
    )
