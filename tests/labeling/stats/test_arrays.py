"""Dense id codes and group medians against numpy's unique and median."""

import numpy as np

from labeling.stats.arrays import dense_codes, group_median


def test_dense_codes_equal_numpy_unique_for_small_and_huge_ids():
    rng = np.random.default_rng(0)
    for ids in (
        rng.integers(0, 50, 1000),
        rng.integers(0, 10**12, 1000),
        np.array([5]),
        np.array([3, 3]),
        np.zeros(0, dtype=np.int64),
    ):
        ours, codes = dense_codes(ids)
        ref, ref_codes = np.unique(ids, return_inverse=True)
        assert np.array_equal(ours, ref) and np.array_equal(codes, ref_codes)


def test_group_median_equals_numpy_median_per_group():
    rng = np.random.default_rng(1)
    groups, values = rng.integers(0, 7, 1001), rng.integers(0, 10**6, 1001)
    ref = [np.median(values[groups == k]) if (groups == k).any() else np.nan for k in range(9)]
    assert np.allclose(group_median(groups, values, 9), ref, equal_nan=True)
