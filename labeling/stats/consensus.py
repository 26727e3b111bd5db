"""Consensus of several labelers per unit and each labeler's agreement with the others, as array functions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .agreement import cohen_kappa_from_confusion
from .intervals import wilson_interval
from .votes import NO_WINNER, plurality_choice

# Agreement level of a unit, by code.
SINGLE, UNANIMOUS, MAJORITY, SPLIT = 0, 1, 2, 3
LEVEL_NAMES = ("single", "unanimous", "majority", "split")


def agreement_levels(value_counts: np.ndarray) -> np.ndarray:
    """Per unit: SINGLE (< 2 votes), UNANIMOUS (all agree), MAJORITY (over half agree) or SPLIT (no value has > half)."""
    counts = np.asarray(value_counts)  # (N, V)
    m = counts.sum(axis=1)
    top = counts.max(axis=1) if counts.shape[1] else np.zeros(len(counts), dtype=np.int64)
    levels = np.full(len(counts), SPLIT, dtype=np.int64)
    levels[2 * top > m] = MAJORITY
    levels[(top == m) & (m >= 2)] = UNANIMOUS
    levels[m < 2] = SINGLE
    return levels


def leave_one_out_plurality(
    value_counts: np.ndarray, unit_idx: np.ndarray, value_idx: np.ndarray, counted: np.ndarray | None = None
) -> np.ndarray:
    """For each judgment, the plurality choice of the *other* judgments of its unit (NO_WINNER when none or tied).

    `value_counts` must hold exactly the judgments flagged `counted` (all by default); an uncounted judgment (an
    excluded labeler's) is compared with the full counted plurality, since it is not part of it.
    """
    unit_idx = np.asarray(unit_idx, dtype=np.int64)  # (J,)
    value_idx = np.asarray(value_idx, dtype=np.int64)  # (J,)
    others = np.asarray(value_counts)[unit_idx].copy()  # (J, V)
    own = np.ones(len(unit_idx), dtype=np.int64) if counted is None else np.asarray(counted, dtype=np.int64)
    others[np.arange(len(unit_idx)), value_idx] -= own
    if others.size and others.min() < 0:
        raise ValueError("value_counts does not contain every counted judgment.")
    return plurality_choice(others)


@dataclass(frozen=True)
class LabelerAgreement:
    """Per labeler (index order): judgments, judgments with a leave-one-out plurality to compare, and matches."""

    n_judgments: np.ndarray  # (L,)
    n_scored: np.ndarray  # (L,)
    n_agree: np.ndarray  # (L,)
    agreement: np.ndarray  # (L,) n_agree / n_scored, NaN when nothing was scored
    agreement_low: np.ndarray  # (L,) Wilson 95 % bounds, so 3 judgments do not outrank 300
    agreement_high: np.ndarray  # (L,)
    kappa: np.ndarray  # (L,) Cohen's kappa of the labeler against the leave-one-out plurality


def labeler_agreement(
    *,
    labeler_idx: np.ndarray,
    unit_idx: np.ndarray,
    value_idx: np.ndarray,
    n_labelers: int,
    n_units: int,
    n_values: int,
    counted: np.ndarray | None = None,
) -> LabelerAgreement:
    """Each labeler's agreement with the leave-one-out plurality of the counted judgments on the same units."""
    labeler_idx = np.asarray(labeler_idx, dtype=np.int64)
    unit_idx = np.asarray(unit_idx, dtype=np.int64)
    value_idx = np.asarray(value_idx, dtype=np.int64)
    counted_mask = np.ones(len(unit_idx), dtype=bool) if counted is None else np.asarray(counted, dtype=bool)
    flat = np.bincount(
        unit_idx[counted_mask] * n_values + value_idx[counted_mask], minlength=n_units * n_values
    ).reshape(n_units, n_values)
    loo = leave_one_out_plurality(flat, unit_idx, value_idx, counted_mask)  # (J,)
    scored = loo != NO_WINNER
    n_judgments = np.bincount(labeler_idx, minlength=n_labelers)
    n_scored = np.bincount(labeler_idx[scored], minlength=n_labelers)
    n_agree = np.bincount(labeler_idx[scored & (loo == value_idx)], minlength=n_labelers)
    confusion = np.bincount(
        (labeler_idx[scored] * n_values + value_idx[scored]) * n_values + loo[scored],
        minlength=n_labelers * n_values * n_values,
    ).reshape(n_labelers, n_values, n_values)  # (L, V, V)
    kappa = np.array([cohen_kappa_from_confusion(c) for c in confusion]) if n_labelers else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(n_scored > 0, n_agree / np.maximum(n_scored, 1), np.nan)
    low, high = wilson_interval(n_agree, n_scored)
    return LabelerAgreement(n_judgments, n_scored, n_agree, agreement, low, high, kappa)
