"""Bradley–Terry ranking of policies from pairwise comparisons (ties count half), with seeded bootstrap intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bootstrap import row_patterns

# P(i beats j) = σ(θ_i − θ_j). θ maximises the log-likelihood minus ridge/2 · ‖θ‖², which keeps θ finite when a
# policy wins every comparison and centres it at mean zero. Ratings use Chatbot Arena's Elo scale
# (Chiang et al. 2024): 1000 + 400 · θ / ln 10.

DEFAULT_RIDGE = 0.01
ELO_SCALE = 400.0 / np.log(10.0)
ELO_BASE = 1000.0


def win_matrix(
    policy_a: np.ndarray,
    policy_b: np.ndarray,
    score_a: np.ndarray,
    *,
    n_policies: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """W[i, j] = wins of i over j, where a comparison gives score_a ∈ {0, 0.5, 1} to a and 1 − score_a to b."""
    a = np.asarray(policy_a, dtype=np.int64)
    b = np.asarray(policy_b, dtype=np.int64)
    s = np.asarray(score_a, dtype=np.float64)
    w = np.ones(len(a)) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (a.shape == b.shape == s.shape == w.shape):
        raise ValueError("policy_a, policy_b, score_a (and weights) must have the same length.")
    if np.any(a == b):
        raise ValueError("A policy cannot be compared with itself.")
    if np.any((s < 0) | (s > 1)):
        raise ValueError("score_a must lie in [0, 1] (1 = a wins, 0.5 = tie, 0 = b wins).")
    size = n_policies * n_policies
    wins = np.bincount(a * n_policies + b, weights=s * w, minlength=size)
    wins += np.bincount(b * n_policies + a, weights=(1.0 - s) * w, minlength=size)
    return wins.reshape(n_policies, n_policies)  # (P, P)


def bradley_terry_fit(
    wins: np.ndarray, *, ridge: float = DEFAULT_RIDGE, tol: float = 1e-12, max_iter: int = 100
) -> np.ndarray:
    """θ (P,) maximising Σ W_ij log σ(θ_i − θ_j) − ridge/2 ‖θ‖², by Newton's method (the objective is concave)."""
    W = np.asarray(wins, dtype=np.float64)  # (P, P)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError("wins must be a square matrix.")
    if ridge <= 0:
        raise ValueError("ridge must be positive so that θ is unique and finite.")
    n = W + W.T  # comparisons between i and j

    def objective(t: np.ndarray) -> float:
        # log σ(x) = −log(1 + e^−x), computed stably.
        return float(-(W * np.logaddexp(0.0, -np.subtract.outer(t, t))).sum() - ridge / 2 * (t @ t))

    theta = np.zeros(len(W))
    value = objective(theta)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.subtract.outer(theta, theta)))  # (P, P) P(i beats j)
        grad = (W - n * p).sum(axis=1) - ridge * theta
        curvature = n * p * (1.0 - p)
        hessian = curvature - np.diag(curvature.sum(axis=1)) - ridge * np.eye(len(W))
        step = np.linalg.solve(hessian, -grad)
        # Backtrack so a far-off start (a policy that always wins) cannot overshoot.
        scale = 1.0
        while scale > 1e-8:
            candidate = theta + scale * step
            candidate_value = objective(candidate)
            if candidate_value >= value - 1e-12 * abs(value):
                break
            scale /= 2
        theta, value = candidate, candidate_value
        if np.max(np.abs(scale * step)) < tol:
            break
    return theta


@dataclass(frozen=True)
class Ranking:
    theta: np.ndarray  # (P,)
    rating: np.ndarray  # (P,) Elo scale
    rating_low: np.ndarray  # (P,) bootstrap percentile bounds (NaN without resamples)
    rating_high: np.ndarray  # (P,)
    n_comparisons: np.ndarray  # (P,)
    win_rate: np.ndarray  # (P,) (wins + ties/2) / comparisons
    n_resamples: int


def policy_ranking(
    policy_a: np.ndarray,
    policy_b: np.ndarray,
    score_a: np.ndarray,
    *,
    n_policies: int,
    ridge: float = DEFAULT_RIDGE,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Ranking:
    """Bradley–Terry ratings with a percentile bootstrap that resamples comparisons (as Chatbot Arena does)."""
    a = np.asarray(policy_a, dtype=np.int64)
    b = np.asarray(policy_b, dtype=np.int64)
    s = np.asarray(score_a, dtype=np.float64)
    if not np.isin(s, (0.0, 0.5, 1.0)).all():
        raise ValueError("score_a must be 1 (a wins), 0.5 (tie) or 0 (b wins).")
    wins = win_matrix(a, b, s, n_policies=n_policies)
    theta = bradley_terry_fit(wins, ridge=ridge)
    n_comparisons = (wins + wins.T).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(n_comparisons > 0, wins.sum(axis=1) / np.maximum(n_comparisons, 1e-300), np.nan)
    low = np.full(n_policies, np.nan)
    high = np.full(n_policies, np.nan)
    if n_resamples and len(a):
        # Distinct (a, b, outcome) cells resampled by multinomial counts: the same law as resampling comparisons.
        cells, freq, _ = row_patterns(np.stack([a, b, np.rint(s * 2).astype(np.int64)], axis=1))
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(len(a), freq / len(a), size=n_resamples)  # (B, C)
        thetas = np.empty((n_resamples, n_policies))
        for r in range(n_resamples):
            w = win_matrix(cells[:, 0], cells[:, 1], cells[:, 2] / 2.0, n_policies=n_policies, weights=draws[r])
            thetas[r] = bradley_terry_fit(w, ridge=ridge)
        tail = (1.0 - confidence) / 2.0 * 100.0
        low, high = np.percentile(ELO_BASE + ELO_SCALE * thetas, [tail, 100.0 - tail], axis=0)
    return Ranking(
        theta=theta,
        rating=ELO_BASE + ELO_SCALE * theta,
        rating_low=low,
        rating_high=high,
        n_comparisons=n_comparisons,
        win_rate=win_rate,
        n_resamples=n_resamples,
    )
