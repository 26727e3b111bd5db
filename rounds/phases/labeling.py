"""Labeling phase: people (or simulated labelers) judge the round's pairs; the round moves on at its target."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import transaction

from common import clock
from common.errors import Conflict
from labeling.models import Comparison
from rounds.models import RoundState, TrainingRound
from rounds.phases.base import phase_finish

S = RoundState


def round_comparisons(*, training_round: TrainingRound) -> int:
    return Comparison.objects.filter(
        pair__batch=training_round.batch, pair__project_id=training_round.project_id, is_current=True
    ).count()


def round_labeling_check(*, round_id: int) -> bool:
    """Move a labeling round on once its comparisons target is reached; True if it moved. Safe to call often
    (after submits, from the round page's polling, from the periodic watch task)."""
    training_round = TrainingRound.objects.filter(id=round_id, state=S.LABELING).first()
    if training_round is None:
        return False
    done = round_comparisons(training_round=training_round)
    if done < training_round.comparisons_target:
        TrainingRound.objects.filter(id=round_id, state=S.LABELING).update(
            progress_percent=round(100 * done / max(training_round.comparisons_target, 1), 2),
            progress_message=f"{done}/{training_round.comparisons_target} comparisons",
            progress_updated_at=clock.now(),
        )
        return False
    started = training_round.transitions.filter(to_state=S.LABELING).order_by("-created_at").first()
    seconds = (clock.now() - started.created_at).total_seconds() if started else 0.0
    with transaction.atomic():
        try:
            phase_finish(
                round_id=round_id, phase=S.LABELING, seconds=seconds,
                reason=f"comparisons target reached ({done}/{training_round.comparisons_target})",
            )  # fmt: skip
        except Conflict:  # someone else moved it on first: nothing to do
            return False
    return True


def labeling_poll_seconds() -> float:
    return float(django_settings.ARBITER.get("ROUND_LABELING_POLL_SECONDS", 10))


def round_still_labeling(*, round_id: int) -> bool:
    return TrainingRound.objects.filter(id=round_id, state=S.LABELING).exists()
