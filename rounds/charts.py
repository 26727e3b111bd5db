"""Inline SVG line charts for the round and project pages (no JavaScript library, no CDN), sized to be read:
labelled axes with tick values, optional 95% interval bars and a reference line."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 76, 16, 30, 44
Y_TICKS = 5


def _ticks(lo: float, hi: float, n: int) -> list[float]:
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def line_chart_svg(
    *,
    xs: Sequence[float],
    ys: Sequence[float | None],
    title: str,
    color: str = "#1d4ed8",
    x_label: str = "step",
    y_label: str = "",
    intervals: Sequence[Sequence[float] | None] | None = None,
    reference: float | None = None,
    y_range: tuple[float, float] | None = None,
) -> SafeString:
    """A polyline of ys over xs; points with no value are skipped. `intervals` (low, high per point) draw
    error bars; `reference` draws a dashed horizontal line (e.g. a 0.5 win rate); `y_range` fixes the axis
    (a rate's 0–1), which the data widen if they fall outside it."""
    bars = list(intervals) if intervals is not None else [None] * len(xs)
    points = [(x, y, ci) for x, y, ci in zip(xs, ys, bars, strict=True) if y is not None]
    if not points:
        return mark_safe(f'<p class="muted chart-empty">{escape(title)}: no data yet.</p>')
    values = [y for _, y, _ in points] + [v for _, _, ci in points if ci for v in ci if v is not None]
    if reference is not None:
        values.append(reference)
    if y_range is not None:
        values.extend(y_range)
    x_lo, x_hi = min(p[0] for p in points), max(p[0] for p in points)
    y_lo, y_hi = min(values), max(values)
    if y_hi == y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    x_span, y_span = (x_hi - x_lo) or 1.0, y_hi - y_lo
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + ((x - x_lo) / x_span * plot_w if x_hi != x_lo else plot_w / 2)

    def sy(y: float) -> float:
        return TOP + plot_h - (y - y_lo) / y_span * plot_h

    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="{LEFT}" y="18" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    for tick in _ticks(y_lo, y_hi, Y_TICKS):
        y = sy(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e3e7ed"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{tick:.3g}</text>')
    x_values = sorted({p[0] for p in points})
    step = max(1, len(x_values) // 8)
    for x in x_values[::step] + ([x_values[-1]] if (len(x_values) - 1) % step else []):
        parts.append(f'<text x="{sx(x):.1f}" y="{TOP + plot_h + 18}" font-size="12" text-anchor="middle">{x:g}</text>')
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#6b7280"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#6b7280"/>'
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" font-size="12" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    if y_label:
        parts.append(
            f'<text x="14" y="{TOP + plot_h / 2:.1f}" font-size="12" text-anchor="middle" '
            f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>'
        )
    if reference is not None:
        y = sy(reference)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#6b7280" '
            f'stroke-dasharray="6 4"><title>reference {reference:g}</title></line>'
        )
    for x, _, ci in points:
        if ci and ci[0] is not None and ci[1] is not None:
            cx, lo, hi = sx(x), sy(ci[0]), sy(ci[1])
            parts.append(
                f'<path class="interval" d="M{cx:.1f},{lo:.1f}V{hi:.1f}M{cx - 5:.1f},{lo:.1f}H{cx + 5:.1f}'
                f'M{cx - 5:.1f},{hi:.1f}H{cx + 5:.1f}" stroke="{color}" stroke-opacity="0.55" stroke-width="1.5" '
                f'fill="none"><title>95% interval {ci[0]:.3g}–{ci[1]:.3g}</title></path>'
            )
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in points)
    parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2.5" points="{path}"/>')
    for x, y, _ in points:
        parts.append(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{color}">'
            f"<title>{escape(x_label)} {x:g}: {y:.4g}</title></circle>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
