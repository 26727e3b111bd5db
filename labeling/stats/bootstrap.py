"""Seeded percentile bootstrap over units, done on distinct unit patterns so it stays fast at a million judgments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Interval:
    estimate: float | None
    low: float | None
    high: float | None
    confidence: float
    n_resamples: int
    # Replicates where the statistic was undefined (e.g. a resample that used a single category).
    n_undefined: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite_or_none(x: float) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def row_patterns(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct rows (P, V), occurrence count of each (P,), pattern index of each input row (N,))."""
    rows = np.asarray(rows)
    if rows.ndim != 2:
        raise ValueError("row_patterns needs a 2-D array.")
    if len(rows) == 0:
        return rows, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if rows.dtype.kind in "iu" and rows.min() >= 0:
        base = int(rows.max()) + 1
        if base ** rows.shape[1] < 2**62:
            # Mixed-radix key per row: a 1-D unique is far faster than np.unique(axis=0).
            key = rows.astype(np.int64) @ (base ** np.arange(rows.shape[1], dtype=np.int64))
            _, first, inverse, freq = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
            return rows[first], freq, inverse
    patterns, inverse, freq = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    return patterns, freq, inverse.reshape(-1)


def bootstrap_interval(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    patterns: np.ndarray,
    freq: np.ndarray,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile interval of `statistic(patterns, weights)` over seeded resamples of the units behind `freq`.

    The estimate is the statistic at the observed multiplicities. A statistic that raises ValueError or returns
    NaN on a replicate counts as undefined; the interval uses the defined replicates.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1.")
    if n_resamples < 0:
        raise ValueError("n_resamples must be non-negative.")
    freq = np.asarray(freq, dtype=np.int64)
    n_units = int(freq.sum())
    try:
        estimate = statistic(patterns, freq.astype(np.float64))
    except ValueError:
        estimate = float("nan")
    if n_units == 0 or n_resamples == 0:
        return Interval(_finite_or_none(estimate), None, None, confidence, n_resamples, 0)
    rng = np.random.default_rng(seed)
    # Resampling N units with replacement has the same law as drawing a multinomial count for each distinct unit
    # pattern (its category counts) with probabilities proportional to how often it occurs; statistics that depend on
    # units only through their counts then take those multiplicities as weights.
    draws = rng.multinomial(n_units, freq / n_units, size=n_resamples)  # (B, P)
    values = np.empty(n_resamples)
    for b in range(n_resamples):
        try:
            values[b] = statistic(patterns, draws[b].astype(np.float64))
        except ValueError:
            values[b] = np.nan
    defined = values[np.isfinite(values)]
    tail = (1.0 - confidence) / 2.0 * 100.0
    if len(defined) == 0:
        return Interval(_finite_or_none(estimate), None, None, confidence, n_resamples, n_resamples)
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    return Interval(
        _finite_or_none(estimate), float(low), float(high), confidence, n_resamples, n_resamples - len(defined)
    )
