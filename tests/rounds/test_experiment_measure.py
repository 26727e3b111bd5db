"""The experiment's per-round figures that are plain arithmetic: win rates with ties, oracle-label accuracy."""

from __future__ import annotations

import pytest

from labeling.stats.intervals import wilson_interval
from rounds.experiment.measure import oracle_accuracy, win_rate


def test_win_rate_counts_a_tie_as_half_and_skips_rows_without_an_opponent():
    rate = win_rate([0.5, 0.2, 0.3, 0.9], [0.1, 0.2, 0.4, None])
    assert rate["n"] == 3 and rate["value"] == pytest.approx(1.5 / 3)
    assert (rate["low"], rate["high"]) == pytest.approx(wilson_interval(1.5, 3))
    assert win_rate([1.0], [None]) == {"value": None, "low": None, "high": None, "n": 0}


def test_oracle_accuracy_over_every_pair_of_response_sets():
    # Two rows, three response sets; each pair of sets in each row is one comparison.
    oracle = [[1.0, 5.0], [2.0, 5.0], [3.0, 1.0]]  # (sets, rows); row 1 ties sets 0 and 1 → left out
    proxy = [[0.0, 0.0], [1.0, 3.0], [0.5, 0.0]]
    # row 0 pairs: (0,1) oracle −, proxy − ✓; (0,2) oracle −, proxy − ✓; (1,2) oracle −, proxy + ✗
    # row 1 pairs: (0,1) oracle tie → skipped; (0,2) oracle +, proxy tie → ½; (1,2) oracle +, proxy + ✓
    rate = oracle_accuracy(oracle, proxy)
    assert rate["n"] == 5 and rate["value"] == pytest.approx(3.5 / 5)
