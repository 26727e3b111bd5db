"""The one Wilson interval against statsmodels, for scalars and arrays, including n = 0 and fractional successes."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from labeling.stats.intervals import wilson_interval

CASES = [(0, 10), (7, 10), (10, 10), (250, 400), (1, 3), (2.5, 5), (8, 10)]


@pytest.mark.parametrize("successes,n", CASES)
def test_scalar_wilson_matches_statsmodels_and_returns_floats(successes, n):
    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    ours = wilson_interval(successes, n)
    assert ours == pytest.approx((low, high), abs=1e-12)
    assert all(type(bound) is float for bound in ours)  # JSON-serialisable as it is


def test_array_wilson_matches_statsmodels_elementwise():
    successes = np.array([s for s, _ in CASES], dtype=float)
    n = np.array([n for _, n in CASES], dtype=float)
    low, high = wilson_interval(successes, n)
    ref_low, ref_high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    assert np.allclose(low, ref_low, atol=1e-12) and np.allclose(high, ref_high, atol=1e-12)
    # Textbook value: 8/10 at 95 % → (0.490, 0.943)
    assert (round(float(low[-1]), 3), round(float(high[-1]), 3)) == (0.490, 0.943)


def test_no_trials_give_no_interval_like_statsmodels():
    assert all(np.isnan(bound) for bound in wilson_interval(0, 0))
    low, high = wilson_interval(np.array([3, 300, 0]), np.array([3, 300, 0]))
    assert np.isnan(low[2]) and np.isnan(high[2])
    assert low[1] > low[0]  # 300/300 outranks 3/3
    assert high[0] == 1.0 and low[0] < 1.0


def test_z_sets_the_width():
    narrow = wilson_interval(30, 100, z=1.0)
    wide = wilson_interval(30, 100)
    assert wide[0] < narrow[0] < 0.3 < narrow[1] < wide[1]


def test_bounds_are_exact_at_zero_and_all_successes():
    # Rounding put the lower bound at +2.8e-17 for 0 of 6, outside the interval's own proportion.
    for n in (1, 3, 6, 7, 40, 1000):
        low, high = wilson_interval(0, n)
        assert low == 0.0 and 0 < high < 1
        low, high = wilson_interval(n, n)
        assert high == 1.0 and 0 < low < 1
    lows, highs = wilson_interval(np.array([0, 6]), np.array([6, 6]))
    assert lows[0] == 0.0 and highs[1] == 1.0
