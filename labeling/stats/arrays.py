"""Column helpers for id arrays read from the database: dense codes and per-group medians, without Python loops."""

from __future__ import annotations

import numpy as np


def dense_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct ids, index of each id among them), like np.unique(return_inverse) but O(n) for small ids."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) == 0:
        return ids, ids
    if ids.min() >= 0 and ids.max() < 4 * len(ids) + 1024:
        present = np.bincount(ids) > 0
        lookup = np.cumsum(present) - 1
        return np.nonzero(present)[0], lookup[ids]
    return np.unique(ids, return_inverse=True)


def group_median(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of `values` (non-negative, < 2^32) per group index, from one sort of a combined integer key."""
    v = np.sort((groups.astype(np.int64) << 32) | values.astype(np.int64)) & 0xFFFFFFFF
    sizes = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    medians = np.full(n_groups, np.nan)
    has = sizes > 0
    lo = (starts + (sizes - 1) // 2)[has]
    hi = (starts + sizes // 2)[has]
    medians[has] = (v[lo] + v[hi]) / 2
    return medians
