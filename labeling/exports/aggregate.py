"""Turning one pair's judgments into export rows: consensus, agreement level, tie policy and margins.

Pure Python on plain records, so the rules are testable without a database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from labeling.stats.choices import BOTH_BAD, TIE, B
from labeling.stats.votes import strict_majority_choice, vote_counts

# Agreement levels, weakest first; "single" is a pair judged by one labeler only.
AGREEMENT_ORDER = ("split", "single", "majority", "unanimous")


@dataclass(slots=True)
class PairInfo:
    pair_id: int
    prompt_id: int
    prompt: str
    prompt_hash: str
    text_a: str
    text_b: str
    policy_a: str
    policy_b: str
    batch: str
    is_gold: bool
    prompt_metadata: dict | None = None  # the prompt's metadata (title, subreddit, ...), for the openai format


@dataclass(slots=True)
class JudgmentRecord:
    comparison_id: int
    labeler_id: int
    choice: str  # canonical: a, b, tie, both_bad
    confidence: int | None  # canonical: low = sample_a better
    shown_choice: str
    shown_confidence: int | None
    swapped: bool  # sample_b was shown on the left
    time_spent_ms: int
    revision: int
    is_current: bool
    created_at: datetime | None  # loaded for the raw format only
    rationale: str = ""


@dataclass(slots=True)
class PreferenceRow:
    """One training example in canonical terms; `chosen` is "a", "b", or "tie" (then a is written first)."""

    pair: PairInfo
    chosen: str
    label: float  # probability that `chosen` is preferred: 1.0, or 0.5 for a soft tie
    margin: float | None
    agreement: str
    votes: dict[str, int]
    worker_id: int | None  # the labeler, for per-judgment rows
    confidence: float | None  # canonical confidence of the judgment, or the mean over the consensus voters

    @property
    def chosen_text(self) -> str:
        return self.pair.text_b if self.chosen == B else self.pair.text_a

    @property
    def rejected_text(self) -> str:
        return self.pair.text_a if self.chosen == B else self.pair.text_b

    @property
    def chosen_policy(self) -> str:
        return self.pair.policy_b if self.chosen == B else self.pair.policy_a

    @property
    def rejected_policy(self) -> str:
        return self.pair.policy_a if self.chosen == B else self.pair.policy_b


@dataclass(frozen=True)
class Scale:
    low: int
    high: int

    @property
    def midpoint(self) -> float:
        return (self.low + self.high) / 2


def _level(counts: dict[str, int], total: int, top: str | None) -> str:
    if total == 1:
        return "single"
    if top is None:
        return "split"
    return "unanimous" if counts[top] == total else "majority"


def agreement_level(choices: Sequence[str]) -> str:
    """unanimous (2+ judgments, all equal), majority (strict majority), single (one judgment), or split."""
    counts = vote_counts(choices)
    return _level(counts, len(choices), strict_majority_choice(counts))


def strength(confidence: int | None, scale: Scale) -> float | None:
    """How strongly a judgment prefers one side: 0 at the scale's midpoint, 1 at either end."""
    if confidence is None:
        return None
    return abs(confidence - scale.midpoint) / (scale.high - scale.midpoint)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class Tally:
    """Why judgments and pairs did not become rows; written into the manifest."""

    pairs: int = 0
    judgments: int = 0
    rows: int = 0
    dropped: Counter = None  # type: ignore[assignment]
    agreement: Counter = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.dropped = Counter()
        self.agreement = Counter()


def preference_rows(
    *, pair: PairInfo, judgments: Sequence[JudgmentRecord], per_judgment: bool, ties: str, min_agreement_rank: int,
    scale: Scale, tally: Tally,
) -> Iterator[PreferenceRow]:  # fmt: skip
    """Rows for one pair's current judgments. Both-bad judgments count in the agreement level but never become rows."""
    counts = vote_counts([j.choice for j in judgments])
    consensus = strict_majority_choice(counts)
    level = _level(counts, len(judgments), consensus)
    tally.pairs += 1
    tally.judgments += len(judgments)
    tally.agreement[level] += 1
    if AGREEMENT_ORDER.index(level) < min_agreement_rank:
        tally.dropped["below_min_agreement"] += len(judgments) if per_judgment else 1
        return
    votes = dict(sorted(counts.items()))
    if per_judgment:
        for j in judgments:
            row = _row(pair, j.choice, [j], ties, scale, level, votes, tally, worker_id=j.labeler_id)
            if row is not None:
                yield row
        return
    if consensus is None:
        tally.dropped["no_consensus"] += 1
        return
    voters = [j for j in judgments if j.choice == consensus]
    row = _row(pair, consensus, voters, ties, scale, level, votes, tally, worker_id=None)
    if row is not None:
        yield row


def _row(
    pair: PairInfo, choice: str, voters: Sequence[JudgmentRecord], ties: str, scale: Scale, level: str,
    votes: dict[str, int], tally: Tally, *, worker_id: int | None,
) -> PreferenceRow | None:  # fmt: skip
    confidence = _mean([j.confidence for j in voters if j.confidence is not None])
    if choice == BOTH_BAD:
        tally.dropped["both_bad"] += 1
        return None
    if choice == TIE:
        if ties == "drop":
            tally.dropped["tie"] += 1
            return None
        label, margin = (0.5, 0.0) if ties == "soft" else (1.0, 0.0)
    else:
        label = 1.0
        margin = _mean([s for j in voters if (s := strength(j.confidence, scale)) is not None])
    tally.rows += 1
    return PreferenceRow(
        pair=pair, chosen=choice, label=label, margin=margin, agreement=level, votes=votes, worker_id=worker_id,
        confidence=confidence,
    )  # fmt: skip
