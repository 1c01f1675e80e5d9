"""Charts drawn on the server as SVG markup (no script, no inline style: colours are classes
in views.css), scaled by their viewBox so they fit a phone's width. Every text put into the
markup is escaped here, so the result is returned as Markup and templates need no `|safe`."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 480, 270
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 24, 14, 56
SERIES_CLASSES = 8  # s0 … s7 in views.css, then they repeat


def _nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    scale = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    while scale > value:
        scale /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) or value < 0.01 else f"{value:.2f}".rstrip("0").rstrip(".")


def line_chart(title: str, xs: Sequence[int], series: Sequence[tuple[str, Sequence[float | None]]]) -> Markup:
    """A line per series over the x values (years), with axis ticks and a legend under the plot;
    a None value (no data that year) breaks the line."""
    top = _nice_top(max((v for _, values in series for v in values if v is not None), default=0))
    inner_w, inner_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(k: int) -> float:
        return PAD_LEFT + (inner_w * k / (len(xs) - 1) if len(xs) > 1 else inner_w / 2)

    def y(v: float) -> float:
        return PAD_TOP + inner_h * (1 - v / top)

    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 24 * ((len(series) + 2) // 3)}" role="img" '
           f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>']
    for step in range(5):
        value = top * step / 4
        out.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
                   f'<text class="tick" x="{PAD_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{_number(value)}</text>')
    every = max(1, (len(xs) + 7) // 8)
    for k, label in enumerate(xs):
        if k % every == 0 or k == len(xs) - 1:
            out.append(f'<text class="tick" x="{x(k):.1f}" y="{HEIGHT - PAD_BOTTOM + 18}" text-anchor="middle">{label}</text>')
    for n, (name, values) in enumerate(series):
        css = f"s{n % SERIES_CLASSES}"
        runs: list[list[str]] = [[]]
        for k, v in enumerate(values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(k):.1f},{y(v):.1f}")
        out += [f'<polyline class="series {css}" points="{" ".join(run)}"/>' for run in runs if len(run) > 1]
        for k, v in enumerate(values):
            if v is None:
                continue
            out.append(f'<circle class="dot {css}" cx="{x(k):.1f}" cy="{y(v):.1f}" r="3.5">'
                       f'<title>{escape(name)} {xs[k]}：{_number(v)}</title></circle>')
        lx, ly = PAD_LEFT + (n % 3) * (inner_w / 3), HEIGHT - 18 + 24 * (n // 3)
        out.append(f'<rect class="swatch {css}" x="{lx:.1f}" y="{ly - 10}" width="12" height="10"/>'
                   f'<text class="legend" x="{lx + 18:.1f}" y="{ly}">{escape(name[:9])}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def bar_chart(title: str, bars: Sequence[tuple[str, int, str | None]]) -> Markup:
    """A small histogram: one bar per (label, count, link or None), the count above each bar."""
    width, height, pad = max(160, 44 * len(bars)), 120, 20
    top = max((c for _, c, _ in bars), default=0) or 1
    out = [f'<svg class="histogram" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
           f'<title>{escape(title)}</title>']
    slot = width / max(1, len(bars))
    for k, (label, count, link) in enumerate(bars):
        h = (height - 2 * pad - 8) * count / top
        bar = (f'<rect class="bar" x="{k * slot + 6:.1f}" y="{height - pad - h:.1f}" width="{slot - 12:.1f}" height="{h:.1f}"/>'
               f'<text class="tick" x="{(k + 0.5) * slot:.1f}" y="{height - pad - h - 4:.1f}" text-anchor="middle">{count}</text>'
               f'<text class="tick" x="{(k + 0.5) * slot:.1f}" y="{height - 5}" text-anchor="middle">{escape(label)}</text>')
        out.append(f'<a href="{escape(link)}"><title>{escape(label)}：{count}</title>{bar}</a>' if link else bar)
    out.append("</svg>")
    return Markup("".join(out))
