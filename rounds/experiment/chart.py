"""The experiment's over-optimisation picture as a standalone SVG: per round, oracle score and win rate vs the
initial policy (with Wilson intervals) for PPO and best-of-n, and their KL to the initial policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

PANEL_W, PANEL_H, PAD, TOP = 300, 200, 40, 34
SERIES = (("policy_eval", "PPO / round policy", "#2563eb"), ("best_of_n", "best-of-n", "#d97706"))


def _panel(
    *,
    x0: float,
    title: str,
    rounds: list[int],
    lines: Sequence[tuple[str, str, list[Any], list[Any] | None]],
    baseline: float | None = None,
) -> str:
    """One panel: each line is (label, colour, values per round, optional (low, high) per round)."""
    values = [v for _, _, ys, _ in lines for v in ys if v is not None]
    values += [b for _, _, _, bands in lines if bands for band in bands if band for b in band if b is not None]
    if baseline is not None:
        values.append(baseline)
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    x_lo, x_hi = min(rounds, default=0), max(rounds, default=1)
    x_span = (x_hi - x_lo) or 1

    def sx(x: float) -> float:
        return x0 + PAD + (x - x_lo) / x_span * (PANEL_W - 2 * PAD)

    def sy(y: float) -> float:
        return TOP + (PANEL_H - TOP - PAD) * (1 - (y - lo) / (hi - lo))

    out = [
        f'<text x="{x0 + PAD}" y="{TOP - 14}" font-size="12" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{x0 + PAD}" y1="{sy(lo)}" x2="{x0 + PANEL_W - PAD}" y2="{sy(lo)}" stroke="#999"/>',
        f'<line x1="{x0 + PAD}" y1="{TOP}" x2="{x0 + PAD}" y2="{sy(lo)}" stroke="#999"/>',
        f'<text x="{x0 + 2}" y="{sy(hi) + 4:.1f}" font-size="10">{hi:.3g}</text>',
        f'<text x="{x0 + 2}" y="{sy(lo) + 4:.1f}" font-size="10">{lo:.3g}</text>',
    ]
    for x in rounds:
        out.append(f'<text x="{sx(x) - 3:.1f}" y="{sy(lo) + 14:.1f}" font-size="10">{x}</text>')
    out.append(f'<text x="{x0 + PANEL_W / 2 - 15}" y="{sy(lo) + 28:.1f}" font-size="10">round</text>')
    if baseline is not None:
        out.append(
            f'<line x1="{x0 + PAD}" y1="{sy(baseline):.1f}" x2="{x0 + PANEL_W - PAD}" y2="{sy(baseline):.1f}" '
            'stroke="#666" stroke-dasharray="4 3"/>'
        )
    for label, colour, ys, bands in lines:
        points = [(sx(x), sy(y)) for x, y in zip(rounds, ys, strict=True) if y is not None]
        if bands:
            for x, band in zip(rounds, bands, strict=True):
                if band and band[0] is not None and band[1] is not None:
                    out.append(
                        f'<line x1="{sx(x):.1f}" y1="{sy(band[0]):.1f}" x2="{sx(x):.1f}" y2="{sy(band[1]):.1f}" '
                        f'stroke={quoteattr(colour)} stroke-width="1" opacity="0.6"/>'
                    )
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline fill="none" stroke={quoteattr(colour)} stroke-width="2" points="{path}">')
            out.append(f"<title>{escape(label)}</title></polyline>")
            out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill={quoteattr(colour)}/>' for x, y in points]
    return "".join(out)


def experiment_chart_svg(report: dict[str, Any]) -> str:
    """The report's rounds as one SVG document (text escaped; no scripts, no external references)."""
    rows = report.get("rounds") or []
    rounds = [row["round"] for row in rows]

    def series(part: str, key: str) -> list[Any]:
        return [(row.get(part) or {}).get(key) for row in rows]

    def bands(part: str, key: str) -> list[Any]:
        return [((row.get(part) or {}).get(key) or {}) for row in rows]

    initial = (report.get("initial") or {}).get("oracle_score")
    score_lines = [(label, colour, series(part, "oracle_score"), None) for part, label, colour in SERIES]
    win_lines = []
    for part, label, colour in SERIES:
        w = bands(part, "win_rate_vs_initial")
        win_lines.append((label, colour, [b.get("value") for b in w], [(b.get("low"), b.get("high")) for b in w]))
    kl_lines = [
        ("PPO / round policy", SERIES[0][2], series("policy_eval", "kl_to_initial"), None),
        ("best-of-n analytic", SERIES[1][2], series("best_of_n", "kl_analytic"), None),
        ("best-of-n measured", "#059669", series("best_of_n", "kl_measured"), None),
    ]
    title = f"Oracle experiment on {report.get('project', '')}: oracle {report.get('oracle', '')} (SIMULATED labelers)"
    width, height = 3 * PANEL_W + 20, PANEL_H + 60
    legend = []
    for i, (label, colour) in enumerate(
        [("PPO / round policy", SERIES[0][2]), ("best-of-n", SERIES[1][2]), ("best-of-n measured KL", "#059669"),
         ("initial policy", "#666")]
    ):  # fmt: skip
        lx = 10 + i * 200
        legend.append(f'<rect x="{lx}" y="{PANEL_H + 30}" width="12" height="4" fill={quoteattr(colour)}/>')
        legend.append(f'<text x="{lx + 16}" y="{PANEL_H + 36}" font-size="11">{escape(label)}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="sans-serif"><title>{escape(title)}</title>'
        f'<text x="10" y="14" font-size="12">{escape(title)}</text>'
        + _panel(x0=0, title="oracle score (held-out)", rounds=rounds, lines=score_lines, baseline=initial)
        + _panel(x0=PANEL_W, title="oracle win rate vs initial (95% CI)", rounds=rounds, lines=win_lines, baseline=0.5)
        + _panel(x0=2 * PANEL_W, title="KL to initial policy (nats)", rounds=rounds, lines=kl_lines)
        + "".join(legend)
        + "</svg>"
    )
