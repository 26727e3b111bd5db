"""A labeler's own recent judgments, exactly as they were shown: sides in display order, the choice as made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User

from labeling.models import Comparison, Pair, Project

RECENT_LIMIT = 50


@dataclass(frozen=True)
class ShownJudgment:
    """One current judgment in the labeler's frame: no pair id, no policy, no canonical order."""

    comparison_id: int
    revision: int
    submitted_at: datetime
    revised_at: datetime
    prompt: str
    response_left: str
    response_right: str
    shown_choice: str
    shown_confidence: int | None
    rationale: str


def shown_texts(pair: Pair, *, swapped: bool) -> tuple[str, str]:
    """(left, right): the pair's two texts in the order an assignment with this `swapped` showed them."""
    a, b = pair.sample_a.text, pair.sample_b.text
    return (b, a) if swapped else (a, b)


def judgments_recent_of(*, project: Project, labeler: User, limit: int = RECENT_LIMIT) -> list[ShownJudgment]:
    """The labeler's latest `limit` judged pairs, newest submission first (never the canonical pair order)."""
    current = (
        Comparison.objects.filter(pair__project=project, labeler=labeler, is_current=True)
        .select_related("assignment", "pair__prompt", "pair__sample_a", "pair__sample_b")
        .order_by("-assignment__closed_at", "-id")[:limit]
    )
    out = []
    for comparison in current:
        pair = comparison.pair
        left, right = shown_texts(pair, swapped=comparison.assignment.swapped)
        out.append(
            ShownJudgment(
                comparison_id=comparison.id,
                revision=comparison.revision,
                submitted_at=comparison.assignment.closed_at or comparison.created_at,
                revised_at=comparison.created_at,
                prompt=pair.prompt.text,
                response_left=left,
                response_right=right,
                shown_choice=comparison.shown_choice,
                shown_confidence=comparison.shown_confidence,
                rationale=comparison.rationale,
            )
        )
    return out
