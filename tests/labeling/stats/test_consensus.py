"""Agreement levels and leave-one-out labeler agreement against a direct recount."""

from __future__ import annotations

import numpy as np

from labeling.stats.consensus import MAJORITY, SINGLE, SPLIT, UNANIMOUS, agreement_levels, labeler_agreement


def test_agreement_levels_handle_ties_between_top_values():
    counts = np.array([[3, 0, 0], [2, 1, 0], [1, 1, 0], [2, 1, 1], [1, 0, 0], [0, 0, 0], [2, 2, 1]])
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
