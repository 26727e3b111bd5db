"""Plurality and strict majority: the two winning-choice rules, and the votes on which they differ."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.stats.votes import NO_WINNER, plurality_choice, strict_majority_choice, vote_counts


def test_plurality_takes_an_unshared_top_and_nothing_on_a_tie_or_no_votes():
    counts = np.array([[3, 0, 0], [2, 1, 0], [1, 1, 0], [2, 1, 1], [1, 0, 0], [0, 0, 0], [2, 2, 1], [0, 1, 0]])
    assert plurality_choice(counts).tolist() == [0, 0, NO_WINNER, 0, 0, NO_WINNER, NO_WINNER, 1]
    assert plurality_choice(np.zeros((2, 0), dtype=int)).tolist() == [NO_WINNER, NO_WINNER]


@pytest.mark.parametrize(
    "choices,plurality,majority",
    [
        (["a"], "a", "a"),
        (["a", "a", "b"], "a", "a"),
        (["a", "a", "b", "tie"], "a", None),  # the most votes, but not more than half
        (["a", "b"], None, None),
        (["both_bad", "both_bad", "tie"], "both_bad", "both_bad"),
        ([], None, None),
    ],
)
def test_the_rules_differ_only_where_the_top_has_half_or_less(choices, plurality, majority):
    counts = vote_counts(choices)
    assert strict_majority_choice(counts) == majority
    names = sorted(counts)
    code = plurality_choice(np.array([[counts[c] for c in names]]).reshape(1, len(names)))[0]
    assert (names[code] if code != NO_WINNER else None) == plurality


def test_vote_counts_keep_first_appearance_order():
    assert list(vote_counts(["tie", "a", "tie"]).items()) == [("tie", 2), ("a", 1)]
