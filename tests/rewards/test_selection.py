import numpy as np
import pytest

from rewards.selection import preference_probability, select_pairs


def test_preference_probability_is_the_bradley_terry_sigmoid():
    p = preference_probability([0.0, 2.0, -1.0, 800.0], [0.0, 0.0, 1.0, -800.0])
    assert p == pytest.approx([0.5, 1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(2.0)), 1.0])


def test_uncertainty_picks_the_pairs_nearest_one_half():
    rng = np.random.default_rng(3)
    scores_a = rng.normal(size=200)
    scores_b = rng.normal(size=200)
    chosen = select_pairs(
        20, n_candidates=200, scores_a=scores_a, scores_b=scores_b, strategy="uncertainty", explore_fraction=0.0, seed=1
    )
    distance = np.abs(preference_probability(scores_a, scores_b) - 0.5)
    assert sorted(chosen) == sorted(np.argsort(distance)[:20].tolist())
    assert distance[chosen].tolist() == sorted(distance[chosen].tolist())  # most uncertain first


def test_exploration_share_is_honoured_and_drawn_from_the_rest():
    margins = np.linspace(-5, 5, 1000)
    chosen = select_pairs(
        100,
        n_candidates=1000,
        scores_a=margins,
        scores_b=np.zeros(1000),
        strategy="uncertainty",
        explore_fraction=0.3,
        seed=7,
    )
    assert len(chosen) == len(set(chosen)) == 100
    nearest = set(np.argsort(np.abs(margins))[:70].tolist())
    assert set(chosen[:70]) == nearest
    explored = chosen[70:]
    assert not nearest & set(explored)
    # Uniform over the other 930: far from the middle on average, not the next-most-uncertain ones.
    assert np.mean(np.abs(margins[explored])) > 1.5


def test_same_seed_same_pairs_other_seed_other_pairs():
    a, b = np.random.default_rng(0).normal(size=(2, 500))
    kwargs = dict(n_candidates=500, scores_a=a, scores_b=b, strategy="uncertainty", explore_fraction=0.5)
    assert select_pairs(50, seed=4, **kwargs) == select_pairs(50, seed=4, **kwargs)
    assert select_pairs(50, seed=4, **kwargs) != select_pairs(50, seed=5, **kwargs)
    assert select_pairs(50, n_candidates=500, seed=4) == select_pairs(50, n_candidates=500, seed=4)


def test_random_without_a_reward_model_and_uniform():
    counts = np.zeros(10)
    for seed in range(2000):
        chosen = select_pairs(3, n_candidates=10, strategy="uncertainty", seed=seed)  # no scores: random
        assert len(set(chosen)) == 3
        counts[chosen] += 1
    assert counts.min() > 0.8 * 600 and counts.max() < 1.2 * 600


def test_random_strategy_ignores_the_scores():
    a = np.arange(50.0)
    with_scores = select_pairs(10, n_candidates=50, scores_a=a, scores_b=a[::-1], strategy="random", seed=2)
    assert with_scores == select_pairs(10, n_candidates=50, strategy="random", seed=2)


def test_equal_scores_do_not_favour_low_indices():
    chosen = select_pairs(
        10,
        n_candidates=1000,
        scores_a=np.zeros(1000),
        scores_b=np.zeros(1000),
        strategy="uncertainty",
        explore_fraction=0.0,
        seed=0,
    )
    assert max(chosen) > 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(k=11, n_candidates=10), "k must be"),
        (dict(k=1, n_candidates=10, explore_fraction=1.5), "explore_fraction"),
        (dict(k=1, n_candidates=10, strategy="greedy"), "strategy"),
        (dict(k=1, n_candidates=10, scores_a=np.zeros(10)), "both"),
        (dict(k=1, n_candidates=10, scores_a=np.zeros(9), scores_b=np.zeros(9), strategy="uncertainty"), "9 scores"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        select_pairs(**kwargs)
