"""Consensus, leave-one-out agreement, the unit bootstrap and Bradley–Terry against direct or independent fits."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from labeling.agreement import alpha_from_value_counts, value_counts_from_codes
from labeling.bootstrap import bootstrap_interval, row_patterns
from labeling.consensus import (
    MAJORITY,
    NO_WINNER,
    SINGLE,
    SPLIT,
    UNANIMOUS,
    agreement_levels,
    labeler_agreement,
    majority_vote,
    wilson_interval,
)
from labeling.ranking import bradley_terry_fit, policy_ranking, win_matrix


def test_majority_vote_and_levels_handle_ties_between_top_values():
    counts = np.array([[3, 0, 0], [2, 1, 0], [1, 1, 0], [2, 1, 1], [1, 0, 0], [0, 0, 0], [2, 2, 1]])
    assert majority_vote(counts).tolist() == [0, 0, NO_WINNER, 0, 0, NO_WINNER, NO_WINNER]
    assert agreement_levels(counts).tolist() == [UNANIMOUS, MAJORITY, SPLIT, SPLIT, SINGLE, SINGLE, SPLIT]


def naive_labeler_agreement(judgments, n_labelers, counted):
    """Per labeler: (#scored, #agree), recounting the other counted votes of each unit in plain Python."""
    scored, agree = [0] * n_labelers, [0] * n_labelers
    for j, (lab, unit, value) in enumerate(judgments):
        votes = {}
        for k, (_, u2, v2) in enumerate(judgments):
            if k != j and u2 == unit and counted[k]:
                votes[v2] = votes.get(v2, 0) + 1
        if not votes:
            continue
        top = max(votes.values())
        winners = [v for v, c in votes.items() if c == top]
        if len(winners) == 1:
            scored[lab] += 1
            agree[lab] += winners[0] == value
    return scored, agree


def test_leave_one_out_agreement_matches_a_direct_recount():
    rng = np.random.default_rng(2)
    n_units, n_labelers, n_values = 40, 6, 3
    judgments = []
    for unit in range(n_units):
        for lab in rng.choice(n_labelers, size=int(rng.integers(1, 5)), replace=False):
            judgments.append((int(lab), unit, int(rng.integers(0, n_values))))
    lab, unit, value = (np.array(col) for col in zip(*judgments))
    counted = lab != 5  # labeler 5 is excluded: compared with the others, never part of their majority
    result = labeler_agreement(
        labeler_idx=lab,
        unit_idx=unit,
        value_idx=value,
        n_labelers=n_labelers,
        n_units=n_units,
        n_values=n_values,
        counted=counted,
    )
    scored, agree = naive_labeler_agreement(judgments, n_labelers, counted)
    assert result.n_scored.tolist() == scored
    assert result.n_agree.tolist() == agree
    assert result.n_judgments.sum() == len(judgments)
    assert np.all((result.agreement_low <= result.agreement) & (result.agreement <= result.agreement_high))


def test_wilson_interval_is_narrower_with_more_judgments():
    low, high = wilson_interval(np.array([3, 300, 0]), np.array([3, 300, 0]))
    assert low[1] > low[0]  # 300/300 outranks 3/3
    assert high[0] == pytest.approx(1.0) and np.isnan(low[2])
    # Textbook value: 8/10 at 95 % → (0.490, 0.943)
    l2, h2 = wilson_interval(np.array([8]), np.array([10]))
    assert (round(float(l2[0]), 3), round(float(h2[0]), 3)) == (0.490, 0.943)


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


def simulated_comparisons(seed: int, n: int = 3000, strengths=(0.0, 0.6, 1.2, -0.8, 0.3)):
    rng = np.random.default_rng(seed)
    p = len(strengths)
    a = rng.integers(0, p, n)
    b = (a + rng.integers(1, p, n)) % p
    strengths = np.asarray(strengths)
    win = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
    u = rng.random(n)
    score = np.where(u < 0.15, 0.5, np.where(rng.random(n) < win, 1.0, 0.0))
    return a, b, score, p


def test_bradley_terry_matches_an_independent_scipy_fit():
    a, b, score, p = simulated_comparisons(0)
    ridge = 0.01

    def negative_log_likelihood(theta):
        d = theta[a] - theta[b]
        return np.sum(score * np.logaddexp(0, -d) + (1 - score) * np.logaddexp(0, d)) + ridge / 2 * theta @ theta

    def gradient(theta):
        residual = score - 1 / (1 + np.exp(-(theta[a] - theta[b])))
        return -np.bincount(a, residual, minlength=p) + np.bincount(b, residual, minlength=p) + ridge * theta

    reference = minimize(negative_log_likelihood, np.zeros(p), jac=gradient, method="BFGS", options={"gtol": 1e-11}).x
    ours = bradley_terry_fit(win_matrix(a, b, score, n_policies=p), ridge=ridge)
    assert np.allclose(ours, reference, atol=1e-7)
    assert abs(ours.sum()) < 1e-9  # the ridge centres θ


def test_bradley_terry_matches_sklearn_logistic_regression_with_ties_as_half_wins():
    a, b, score, p = simulated_comparisons(1, n=2000)
    ridge = 0.5
    x = np.zeros((len(a), p))
    x[np.arange(len(a)), a] = 1
    x[np.arange(len(a)), b] = -1
    # Each comparison is a win (weight score) and a loss (weight 1 − score) of a against b.
    features = np.vstack([x, x])
    labels = np.concatenate([np.ones(len(a)), np.zeros(len(a))])
    weights = np.concatenate([score, 1 - score])
    keep = weights > 0
    model = LogisticRegression(fit_intercept=False, C=1 / ridge, tol=1e-12, max_iter=10_000)
    model.fit(features[keep], labels[keep], sample_weight=weights[keep])
    ours = bradley_terry_fit(win_matrix(a, b, score, n_policies=p), ridge=ridge)
    assert np.allclose(ours, model.coef_[0], atol=1e-5)


def test_policy_ranking_orders_policies_and_stays_finite_when_one_always_wins():
    a, b, score, p = simulated_comparisons(2)
    ranking = policy_ranking(a, b, score, n_policies=p, n_resamples=200, seed=3)
    assert list(np.argsort(-ranking.rating)) == [2, 1, 4, 0, 3]
    assert np.all((ranking.rating_low < ranking.rating) & (ranking.rating < ranking.rating_high))
    again = policy_ranking(a, b, score, n_policies=p, n_resamples=200, seed=3)
    assert np.array_equal(ranking.rating_low, again.rating_low)
    always = policy_ranking(np.zeros(5, int), np.ones(5, int), np.ones(5), n_policies=2, n_resamples=50)
    assert np.all(np.isfinite(always.theta)) and always.theta[0] > always.theta[1]
    with pytest.raises(ValueError, match="itself"):
        policy_ranking(np.array([1]), np.array([1]), np.array([1.0]), n_policies=2)
    with pytest.raises(ValueError, match="score_a"):
        policy_ranking(np.array([0]), np.array([1]), np.array([0.3]), n_policies=2)
