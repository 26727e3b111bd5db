"""The two rules that pick a winning choice from votes, named apart: plurality and strict majority.

Plurality (the most votes, unshared) scores each labeler against the others; strict majority (more than half of
all votes) decides an exported pair's consensus and its agreement level. On 3 a, 1 b both pick a; on 2 a, 2 b
neither does; on 2 a, 1 b, 1 tie plurality picks a and strict majority nothing.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

import numpy as np

NO_WINNER = -1
T = TypeVar("T", bound=Hashable)


def plurality_choice(value_counts: np.ndarray) -> np.ndarray:
    """Per unit, the index of the most voted value, or NO_WINNER when it has no votes or the top is shared."""
    counts = np.asarray(value_counts)  # (N, V)
    if counts.shape[1] == 0:
        return np.full(len(counts), NO_WINNER, dtype=np.int64)
    top = counts.max(axis=1)  # (N,)
    winner = counts.argmax(axis=1)
    shared = (counts == top[:, None]).sum(axis=1) > 1
    return np.where((top > 0) & ~shared, winner, NO_WINNER).astype(np.int64)


def vote_counts(choices: Iterable[T]) -> dict[T, int]:
    """Votes per choice, in order of first appearance."""
    counts: dict[T, int] = {}
    for choice in choices:
        counts[choice] = counts.get(choice, 0) + 1
    return counts


def strict_majority_choice(counts: Mapping[T, int]) -> T | None:
    """The choice with strictly more than half of all the votes in `counts`, else None."""
    if not counts:
        return None
    choice = max(counts, key=counts.__getitem__)
    return choice if counts[choice] * 2 > sum(counts.values()) else None
