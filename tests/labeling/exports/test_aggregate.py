"""Consensus, agreement levels, tie policies, margins, splits and pseudonyms as pure functions."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from labeling.exports.aggregate import (
    JudgmentRecord,
    PairInfo,
    Scale,
    Tally,
    agreement_level,
    preference_rows,
    strength,
)  # fmt: skip
from labeling.exports.pseudonym import Pseudonymizer
from labeling.exports.split import split_for_prompt
from labeling.stats.votes import strict_majority_choice, vote_counts

SCALE = Scale(1, 9)
PAIR = PairInfo(1, 1, "p", "hash", "A", "B", "pa", "pb", "", False)


def judgments(*choices_and_confidences) -> list[JudgmentRecord]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        JudgmentRecord(i, 100 + i, c, conf, c, conf, False, 0, 1, True, now)
        for i, (c, conf) in enumerate(choices_and_confidences)
    ]


def rows(js, *, per_judgment=False, ties="drop", min_rank=0):
    tally = Tally()
    out = list(preference_rows(pair=PAIR, judgments=js, per_judgment=per_judgment, ties=ties,
                               min_agreement_rank=min_rank, scale=SCALE, tally=tally))  # fmt: skip
    return out, tally


@pytest.mark.parametrize(
    "choices,level,top",
    [
        (["a"], "single", "a"),
        (["a", "a", "a"], "unanimous", "a"),
        (["a", "b", "a"], "majority", "a"),
        (["a", "b"], "split", None),
        (["a", "b", "tie"], "split", None),
        (["tie", "tie", "b"], "majority", "tie"),
        (["a", "a", "b", "b"], "split", None),
        (["both_bad", "a", "a"], "majority", "a"),
    ],
)
def test_majority_and_agreement(choices, level, top):
    assert agreement_level(choices) == level
    assert strict_majority_choice(vote_counts(choices)) == top


def test_strength_is_distance_from_the_midpoint():
    assert [strength(c, SCALE) for c in (1, 3, 5, 7, 9)] == [1.0, 0.5, 0.0, 0.5, 1.0]
    assert strength(None, SCALE) is None
    assert strength(2, Scale(1, 3)) == 0.0


def test_consensus_row_takes_the_majority_side_and_its_voters_margin():
    out, tally = rows(judgments(("b", 9), ("b", 7), ("a", 1)))
    assert len(out) == 1
    row = out[0]
    assert (row.chosen_text, row.rejected_text, row.agreement) == ("B", "A", "majority")
    assert row.margin == pytest.approx((1.0 + 0.5) / 2) and row.confidence == pytest.approx(8.0)
    assert row.votes == {"a": 1, "b": 2} and tally.rows == 1


@pytest.mark.parametrize("ties,expected", [("drop", None), ("soft", (0.5, 0.0)), ("separate", (1.0, 0.0))])
def test_tie_policies(ties, expected):
    out, tally = rows(judgments(("tie", 5), ("tie", 5), ("a", 2)), ties=ties)
    if expected is None:
        assert out == [] and tally.dropped == Counter(tie=1)
    else:
        assert [(r.label, r.margin, r.chosen_text) for r in out] == [(*expected, "A")]


def test_per_judgment_rows_and_drops():
    out, tally = rows(judgments(("a", 2), ("b", 8), ("both_bad", None), ("tie", 5)), per_judgment=True)
    assert [(r.chosen, r.worker_id, r.agreement) for r in out] == [("a", 100, "split"), ("b", 101, "split")]
    assert tally.dropped == Counter(both_bad=1, tie=1)


def test_split_pairs_and_minimum_agreement():
    assert rows(judgments(("a", 2), ("b", 8)))[1].dropped == Counter(no_consensus=1)
    _, tally = rows(judgments(("a", 2), ("a", 2), ("b", 8)), min_rank=3)
    assert tally.dropped == Counter(below_min_agreement=1)


def test_split_is_seeded_by_prompt_and_close_to_the_fractions():
    keys = [f"prompt-{i}" for i in range(20_000)]
    fractions = (0.8, 0.1, 0.1)
    first = [split_for_prompt(prompt_key=k, seed=3, fractions=fractions) for k in keys]
    assert first == [split_for_prompt(prompt_key=k, seed=3, fractions=fractions) for k in keys]
    counts = Counter(first)
    for name, fraction in zip(("train", "validation", "test"), fractions):
        assert abs(counts[name] / len(keys) - fraction) < 0.01
    other = [split_for_prompt(prompt_key=k, seed=4, fractions=fractions) for k in keys]
    assert sum(a != b for a, b in zip(first, other)) > 0.2 * len(keys)
    assert {split_for_prompt(prompt_key=k, seed=0, fractions=(0.0, 0.0, 1.0)) for k in keys[:500]} == {"test"}


def test_pseudonyms_are_stable_per_key_and_unlinkable_across_projects():
    one, again, other = Pseudonymizer("k1"), Pseudonymizer("k1"), Pseudonymizer("k2")
    ids = random.Random(0).sample(range(1, 10**6), 200)
    assert [one(i) for i in ids] == [again(i) for i in ids]
    assert len({one(i) for i in ids}) == len(ids)
    assert all(one(i) != other(i) for i in ids)
    assert one(5).startswith("w_") and len(one(5)) == 18
