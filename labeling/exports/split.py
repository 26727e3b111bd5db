"""Seeded train/validation/test assignment by prompt, so no prompt ever lands in two splits."""

from __future__ import annotations

import hashlib

SPLIT_NAMES = ("train", "validation", "test")


def split_for_prompt(*, prompt_key: str, seed: int, fractions: tuple[float, float, float]) -> str:
    """A uniform draw in [0, 1) from SHA-256(seed, prompt) picks the split: stable across runs and machines."""
    digest = hashlib.sha256(f"{seed}\x1f{prompt_key}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    cumulative = 0.0
    for name, fraction in zip(SPLIT_NAMES, fractions):
        cumulative += fraction
        if draw < cumulative:
            return name
    # Rounding can leave the last sliver of [0, 1) uncovered; it belongs to the last non-empty split.
    return next(name for name, f in reversed(list(zip(SPLIT_NAMES, fractions))) if f > 0)
