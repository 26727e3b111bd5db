"""The unit bootstrap over distinct patterns against resampling units directly with the reference alpha."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from labeling.stats.agreement import alpha_from_value_counts, value_counts_from_codes
from labeling.stats.bootstrap import bootstrap_interval, row_patterns


def test_weighted_patterns_equal_the_expanded_resample():
    """A bootstrap replicate's weights give exactly the alpha of the units repeated that many times."""
    rng = np.random.default_rng(4)
    n_units, raters = 200, 4
    data = rng.integers(0, 4, size=(raters, n_units)).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan
    labeler, unit = np.nonzero(~np.isnan(data))
    counts = value_counts_from_codes(unit, data[labeler, unit].astype(int), n_units=n_units, n_values=4)
    patterns, freq, inverse = row_patterns(counts)
    assert np.array_equal(patterns[inverse], counts) and freq.sum() == n_units
    weights = rng.multinomial(n_units, freq / n_units).astype(float)
    expanded_units = np.repeat(np.arange(len(patterns)), weights.astype(int))
    expanded = np.concatenate([np.nonzero(inverse == p)[0][:1] for p in expanded_units])
    for level in ("nominal", "ordinal"):
        ours = alpha_from_value_counts(patterns, level_of_measurement=level, unit_weights=weights)
        ref = krippendorff.alpha(data[:, expanded], level_of_measurement=level, value_domain=[0, 1, 2, 3])
        assert ours == pytest.approx(ref, abs=1e-9)


def test_bootstrap_interval_is_seeded_and_agrees_with_resampling_units_directly():
    rng = np.random.default_rng(8)
    n_units = 300
    truth = rng.integers(0, 3, n_units)
    data = np.where(rng.random((3, n_units)) < 0.7, truth, rng.integers(0, 3, (3, n_units))).astype(float)
    labeler, unit = np.nonzero(~np.isnan(data))
    counts = value_counts_from_codes(unit, data[labeler, unit].astype(int), n_units=n_units, n_values=3)
    patterns, freq, _ = row_patterns(counts)

    def stat(p, w):
        return alpha_from_value_counts(p, level_of_measurement="nominal", unit_weights=w)

    first = bootstrap_interval(stat, patterns, freq, n_resamples=400, seed=1)
    assert first == bootstrap_interval(stat, patterns, freq, n_resamples=400, seed=1)
    assert first.estimate == pytest.approx(krippendorff.alpha(data, level_of_measurement="nominal"), abs=1e-12)
    assert first.low < first.estimate < first.high
    # The classic bootstrap (resample unit columns, reference alpha) has the same spread.
    direct = [
        krippendorff.alpha(data[:, rng.integers(0, n_units, n_units)], level_of_measurement="nominal")
        for _ in range(400)
    ]
    lo, hi = np.percentile(direct, [2.5, 97.5])
    assert abs(first.low - lo) < 0.03 and abs(first.high - hi) < 0.03


def test_bootstrap_counts_undefined_replicates():
    patterns = np.array([[2, 0], [0, 2]])

    def stat(p, w):
        return alpha_from_value_counts(p, level_of_measurement="nominal", unit_weights=w)

    result = bootstrap_interval(stat, patterns, np.array([1, 1]), n_resamples=200, seed=0)
    assert result.estimate == pytest.approx(1.0)
    assert 0 < result.n_undefined < 200  # replicates drawing one unit twice use a single value
