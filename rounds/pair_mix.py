"""Choosing which samples of a prompt to pair, by a weighted mix of pair kinds (Stiennon et al. 2020, sec. 3)."""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from rounds.config import PAIR_KINDS


@dataclass(frozen=True)
class PlannedPair:
    kind: str
    first: Hashable
    second: Hashable


def _options(kind: str, current: Sequence, initial: Sequence, reference: Sequence) -> list[tuple]:
    if kind == "current_vs_initial":
        return [(c, i) for c in current for i in initial if c != i]
    if kind == "current_vs_reference":
        return [(c, r) for c in current for r in reference if c != r]
    return [(a, b) for n, a in enumerate(current) for b in current[n + 1 :] if a != b]


def pairs_plan(
    *,
    current: Sequence[Hashable],
    initial: Sequence[Hashable],
    reference: Sequence[Hashable],
    mix: dict[str, float],
    count: int,
    rng: random.Random,
) -> list[PlannedPair]:
    """Up to `count` distinct pairs for one prompt. Each pair's kind is drawn by weight among the kinds this
    prompt can still supply (no reference text → no current-vs-reference pair); order within a pair is random
    so neither policy always sits in the same canonical slot."""
    options = {kind: _options(kind, current, initial, reference) for kind in PAIR_KINDS}
    used: set[frozenset] = set()
    planned: list[PlannedPair] = []
    while len(planned) < count:
        open_kinds = [
            k for k in PAIR_KINDS
            if mix.get(k, 0) > 0 and any(frozenset(o) not in used for o in options[k])
        ]  # fmt: skip
        if not open_kinds:
            break
        kind = rng.choices(open_kinds, weights=[mix[k] for k in open_kinds])[0]
        choice = rng.choice([o for o in options[kind] if frozenset(o) not in used])
        used.add(frozenset(choice))
        first, second = choice if rng.random() < 0.5 else choice[::-1]
        planned.append(PlannedPair(kind, first, second))
    return planned
