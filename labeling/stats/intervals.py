"""The Wilson score interval of a proportion, for labeler agreement, reward-model accuracy and win rates."""

from __future__ import annotations

from typing import overload

import numpy as np
import numpy.typing as npt

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


@overload
def wilson_interval(successes: float, n: float, *, z: float = ...) -> tuple[float, float]: ...
@overload
def wilson_interval(successes: npt.ArrayLike, n: npt.ArrayLike, *, z: float = ...) -> tuple[np.ndarray, np.ndarray]: ...
def wilson_interval(
    successes: npt.ArrayLike, n: npt.ArrayLike, *, z: float = Z_95
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of successes / n (Wilson 1927); z = Z_95 gives 95 %. Scalars in, floats out.

    At n = 0 both bounds are NaN: with no trials there is no interval, just as the proportion itself is
    undefined (callers that display it show "–"). Successes may be fractional (a tie as half a win).
    """
    s = np.asarray(successes, dtype=np.float64)
    trials = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = s / trials
        denom = 1 + z**2 / trials
        centre = (p + z**2 / (2 * trials)) / denom
        half = z * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denom
    # The bounds lie in [0, 1] and are exactly 0 at zero successes and 1 at n; clipping and pinning only remove
    # rounding (e.g. ±1e-17 there), so the interval always holds the proportion.
    low = np.where(trials > 0, np.where(s <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    high = np.where(trials > 0, np.where(s >= trials, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high
