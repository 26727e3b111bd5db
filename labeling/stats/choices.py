"""The four judgment choices: the strings stored and exported, and the integer codes of the agreement arrays.

The one definition; the ORM's `Choice` enum, the export rules and the array reader all take theirs from here.
"""

from __future__ import annotations

A, B, TIE, BOTH_BAD = "a", "b", "tie", "both_bad"
CHOICES: tuple[str, ...] = (A, B, TIE, BOTH_BAD)
# Both-bad says nothing about which sample is better, so the preference statistics (alpha, kappa, consensus,
# ranking) use only a, b and tie, and count both-bad apart. A gold answer is one of these three too.
PREFERENCE_CHOICES: tuple[str, ...] = (A, B, TIE)

# A choice's array code is its position in CHOICES: the preference choices are codes 0..2, both-bad is 3.
CHOICE_CODES: dict[str, int] = {choice: code for code, choice in enumerate(CHOICES)}
BOTH_BAD_CODE = CHOICE_CODES[BOTH_BAD]
