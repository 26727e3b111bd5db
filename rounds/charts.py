"""Inline SVG line charts for the round page (no JavaScript library, no CDN)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 360, 140, 28


def line_chart_svg(*, xs: list[float], ys: list[float | None], title: str, color: str = "#2563eb") -> SafeString:
    """A labelled polyline of ys over xs with min/max ticks; points with no value are skipped."""
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    if not points:
        return mark_safe(f'<p class="muted">{escape(title)}: no data yet.</p>')
    x_lo, x_hi = min(p[0] for p in points), max(p[0] for p in points)
    y_lo, y_hi = min(p[1] for p in points), max(p[1] for p in points)
    x_span, y_span = (x_hi - x_lo) or 1.0, (y_hi - y_lo) or 1.0

    def sx(x: float) -> float:
        return PAD + (x - x_lo) / x_span * (WIDTH - 2 * PAD)

    def sy(y: float) -> float:
        return HEIGHT - PAD - (y - y_lo) / y_span * (HEIGHT - 2 * PAD)

    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
    dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color}"/>' for x, y in points)
    return mark_safe(
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<text x="{PAD}" y="14" font-size="12">{escape(title)}</text>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
        f'<text x="2" y="{sy(y_hi) + 4:.1f}" font-size="10">{y_hi:.3g}</text>'
        f'<text x="2" y="{sy(y_lo) + 4:.1f}" font-size="10">{y_lo:.3g}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="10">step {x_lo:g}</text>'
        f'<text x="{WIDTH - PAD - 40}" y="{HEIGHT - 8}" font-size="10">step {x_hi:g}</text>'
        f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>{dots}</svg>'
    )
