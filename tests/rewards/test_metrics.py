import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from rewards.metrics import pairwise_calibration, preference_metrics


def test_accuracy_interval_is_the_wilson_interval_and_undefined_without_pairs():
    # The interval itself is tested against statsmodels in tests/labeling/stats/test_intervals.py.
    m = preference_metrics(np.array([1.0, 2.0, 0.0, 3.0, 5.0]), np.array([0.0, 3.0, 0.0, 1.0, 4.0]))
    assert m["ci95"] == pytest.approx(list(proportion_confint(3, 5, alpha=0.05, method="wilson")), abs=1e-12)
    empty = preference_metrics(np.array([]), np.array([]))
    assert empty["n"] == 0 and np.isnan(empty["accuracy"]) and all(np.isnan(b) for b in empty["ci95"])


def test_preference_metrics_counts_ties_as_wrong():
    m = preference_metrics(np.array([1.0, 2.0, 0.0, 3.0]), np.array([0.0, 3.0, 0.0, 1.0]))
    assert m["accuracy"] == 0.5 and m["n"] == 4
    assert m["reward_mean"] == pytest.approx(np.mean([1, 2, 0, 3, 0, 3, 0, 1]))
    assert m["reward_std"] == pytest.approx(np.std([1, 2, 0, 3, 0, 3, 0, 1]))


def test_calibration_of_a_calibrated_model_is_close():
    rng = np.random.default_rng(0)
    margins = rng.normal(0, 2, size=20000)
    # Draw labels from the model's own probabilities; orient margins so they are r_chosen - r_rejected.
    first_wins = rng.random(20000) < 1 / (1 + np.exp(-margins))
    calibration = pairwise_calibration(np.where(first_wins, margins, -margins), bins=5)
    assert calibration["ece"] < 0.02
    assert sum(b["count"] for b in calibration["bins"]) == 20000
    overconfident = pairwise_calibration(np.where(first_wins, margins, -margins) * 5, bins=5)
    assert overconfident["ece"] > 0.1
