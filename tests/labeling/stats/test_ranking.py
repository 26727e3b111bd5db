"""Bradley–Terry ratings against independent scipy and scikit-learn fits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from labeling.stats.ranking import bradley_terry_fit, policy_ranking, win_matrix


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
