"""Pair mixes: kinds follow the weights, only possible kinds are drawn, pairs are distinct."""

import random
from collections import Counter

from rounds.pair_mix import pairs_plan


def test_mix_follows_weights_and_skips_impossible_kinds():
    rng = random.Random(0)
    kinds = Counter()
    for _ in range(2000):
        for p in pairs_plan(
            current=["c1", "c2"],
            initial=["i1"],
            reference=[],
            rng=rng,
            count=1,
            mix={"current_vs_initial": 3, "current_vs_reference": 5, "current_vs_current": 1},
        ):
            kinds[p.kind] += 1
    assert kinds["current_vs_reference"] == 0  # no reference text for this prompt
    assert 0.70 < kinds["current_vs_initial"] / 2000 < 0.80  # 3 / (3 + 1)


def test_pairs_are_distinct_and_capped_by_what_exists():
    plan = pairs_plan(
        current=["c1", "c2"],
        initial=["i1"],
        reference=["r1"],
        rng=random.Random(1),
        count=10,
        mix={"current_vs_initial": 1, "current_vs_reference": 1, "current_vs_current": 1},
    )
    assert len(plan) == 5  # 2 vs initial + 2 vs reference + 1 current-current
    assert len({frozenset((p.first, p.second)) for p in plan}) == 5
