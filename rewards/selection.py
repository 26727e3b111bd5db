"""Which candidate pairs to send for labeling: at random, or those the reward model is least sure about."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

PairSelection = Literal["random", "uncertainty"]
PAIR_SELECTIONS: tuple[PairSelection, ...] = ("random", "uncertainty")


def preference_probability(scores_a: npt.ArrayLike, scores_b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Bradley–Terry P(A ≻ B) = σ(r_A − r_B) for each pair of reward scores."""
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"scores_a and scores_b must be 1-D and of one length, got {a.shape} and {b.shape}")
    # 0.5 * (1 + tanh(x / 2)) is σ(x) without overflow for large |x|.
    return 0.5 * (1.0 + np.tanh((a - b) / 2.0))


def select_pairs(
    k: int,
    *,
    n_candidates: int,
    scores_a: npt.ArrayLike | None = None,
    scores_b: npt.ArrayLike | None = None,
    strategy: PairSelection = "random",
    explore_fraction: float = 0.1,
    seed: int = 0,
) -> list[int]:
    """Indices of the k candidate pairs to label, in the order chosen.

    "uncertainty" takes the pairs whose P(A ≻ B) is nearest 0.5 (margin sampling, Settles 2009 §3.1) and
    leaves round(explore_fraction · k) of the k to uniform draws from the rest, so pairs the model is
    confidently wrong about can still be labeled. Without reward scores (a first round has no reward model)
    every strategy is "random". Ties in uncertainty are broken at random, so equal scores do not favour
    low indices. The same arguments give the same indices.
    """
    if strategy not in PAIR_SELECTIONS:
        raise ValueError(f"strategy must be one of {', '.join(PAIR_SELECTIONS)}, got {strategy!r}")
    if not 0.0 <= explore_fraction <= 1.0:
        raise ValueError(f"explore_fraction must be in [0, 1], got {explore_fraction}")
    if not 0 <= k <= n_candidates:
        raise ValueError(f"k must be in [0, n_candidates={n_candidates}], got {k}")
    if (scores_a is None) != (scores_b is None):
        raise ValueError("give both scores_a and scores_b, or neither")
    rng = np.random.default_rng(seed)
    if strategy == "random" or scores_a is None or scores_b is None:
        return [int(i) for i in rng.permutation(n_candidates)[:k]]
    probability = preference_probability(scores_a, scores_b)
    if len(probability) != n_candidates:
        raise ValueError(f"{len(probability)} scores for {n_candidates} candidates")
    n_explore = round(explore_fraction * k)
    tie_break = rng.permutation(n_candidates)
    by_uncertainty = np.lexsort((tie_break, np.abs(probability - 0.5)))
    chosen = [int(i) for i in by_uncertainty[: k - n_explore]]
    rest = by_uncertainty[k - n_explore :]
    chosen += [int(i) for i in rng.choice(rest, size=n_explore, replace=False)]
    return chosen
