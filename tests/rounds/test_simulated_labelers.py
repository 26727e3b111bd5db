"""Simulated labelers: the Bradley–Terry choice at temperature τ and the flip rate give the agreement they
should, alone and through the labeling API."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from labeling.models import Comparison
from rounds.simulation import simulated_labelers_run, simulated_preference


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@pytest.mark.parametrize(("difference", "tau", "flip_rate"), [(0.3, 0.0, 0.2), (0.1, 0.1, 0.0), (0.2, 0.4, 0.15)])
def test_choice_probability_is_bradley_terry_then_flipped(difference, tau, flip_rate):
    rng = random.Random(7)
    n = 20_000
    left = sum(simulated_preference(difference, tau=tau, flip_rate=flip_rate, rng=rng)[0] > 0 for _ in range(n))
    p = 1.0 if tau == 0 else _sigmoid(difference / tau)
    expected = p * (1 - flip_rate) + (1 - p) * flip_rate
    assert abs(left / n - expected) < 4 * math.sqrt(expected * (1 - expected) / n) + 1e-9


def test_sureness_sets_the_size_of_the_preference():
    rng = random.Random(0)
    confident = [simulated_preference(5.0, tau=0.5, flip_rate=0.0, rng=rng)[0] for _ in range(50)]
    unsure = [simulated_preference(0.01, tau=0.5, flip_rate=0.0, rng=rng)[0] for _ in range(50)]
    assert min(abs(v) for v in confident) >= 1.0  # a confident answer on the project's scale
    assert max(abs(v) for v in unsure) < 0.1


@pytest.mark.django_db
def test_flip_rates_per_labeler_give_the_expected_agreement_through_the_api(make_project):
    project = make_project(pairs=80, overlap=3, gold_rate=0.0, allow_tie=False)
    flip_rates = [0.0, 0.2, 0.4]

    def oracle(prompt: str, left: str, right: str) -> float:
        return 1.0 if left < right else -1.0  # "summary A ..." always wins

    report = simulated_labelers_run(project=project, labelers=3, noise=flip_rates, oracle=oracle, seed=3)
    assert report.submitted == 240
    by_labeler: dict[str, dict[int, str]] = {}
    for username, pair_id, choice in Comparison.objects.filter(pair__project=project, is_current=True).values_list(
        "labeler__username", "pair_id", "choice"
    ):
        by_labeler.setdefault(username, {})[pair_id] = choice
    names = [f"sim-labeler-{i}" for i in (1, 2, 3)]
    assert sorted(by_labeler) == names
    # The oracle always prefers the canonical A ("summary A of i"): a labeler agrees with it at 1 − flip rate.
    for name, rate in zip(names, flip_rates, strict=True):
        share = sum(c == "a" for c in by_labeler[name].values()) / 80
        assert abs(share - (1 - rate)) < 4 * math.sqrt(max(rate * (1 - rate), 0.01) / 80), (name, share)
    # Two labelers agree with probability (1 − f_i)(1 − f_j) + f_i f_j.
    for (i, a), (j, b) in itertools.combinations(enumerate(names), 2):
        agree = sum(by_labeler[a][p] == by_labeler[b][p] for p in by_labeler[a]) / 80
        expected = (1 - flip_rates[i]) * (1 - flip_rates[j]) + flip_rates[i] * flip_rates[j]
        assert abs(agree - expected) < 4 * math.sqrt(expected * (1 - expected) / 80) + 0.02, (a, b, agree)
    assert report.flipped == pytest.approx(80 * sum(flip_rates), abs=4 * math.sqrt(80 * 0.5))


def test_bad_noise_settings_are_refused(db, make_project):
    project = make_project(pairs=0)
    with pytest.raises(ValueError, match="flip rates"):
        simulated_labelers_run(project=project, labelers=3, noise=[0.1, 0.2])
    with pytest.raises(ValueError, match="tau"):
        simulated_labelers_run(project=project, labelers=1, noise=0.1, tau=-1)
