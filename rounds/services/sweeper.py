"""Rounds whose worker died or whose task the broker refused: a claimed phase with a stale heartbeat is queued
again (it resumes from its checkpoint) or, after SWEEP_MAX_REQUEUES lost workers in a row, marked failed (resume
retries it). Safe when two sweepers run: rows are locked with SKIP LOCKED and re-checked under the lock, and a
requeue restarts the heartbeat, so the second sweeper finds nothing to do."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from common import clock
from common.errors import BrokerUnavailable, Conflict
from rounds.models import RoundState, TrainingRound
from rounds.services.progress import heartbeat_is_stale, round_stale_after
from rounds.services.state import PHASES, round_requeue, round_transition

log = logging.getLogger(__name__)
SWEEP_REASON = "no heartbeat from its worker"


@dataclass
class RoundSweep:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    still_unqueued: list[int] = field(default_factory=list)


def _sweeper_requeues_in_a_row(training_round: TrainingRound) -> int:
    """How many times the sweeper re-queued the current phase since it was entered."""
    count = 0
    for t in training_round.transitions.order_by("-created_at", "-id"):
        if t.from_state != t.to_state or not t.reason.startswith(SWEEP_REASON):
            break
        count += 1
    return count


def _has_a_worker(training_round: TrainingRound) -> bool:
    """A claimed phase (a worker took its task) or labeling (its watch task reports at every poll). A phase
    whose task is still queued may wait behind hours of training on the one GPU worker: not swept (a resume
    queues it again if its message was lost)."""
    return bool(training_round.running_task_id) or training_round.state == RoundState.LABELING


def _sweep_one(round_id: int, now: datetime, report: RoundSweep) -> None:
    with transaction.atomic():
        r = TrainingRound.objects.select_for_update(skip_locked=True).filter(id=round_id).first()
        if r is None or r.state not in PHASES:
            return  # another sweeper holds it, or it moved on
        if r.enqueue_error:
            round_requeue(round_id=r.id, reason="queued again: the broker is reachable")
            report.requeued.append(r.id)
            return
        if not heartbeat_is_stale(r, now=now) or not _has_a_worker(r):
            return
        since = r.progress_updated_at.isoformat(timespec="seconds") if r.progress_updated_at else "unknown"
        labeling = r.state == RoundState.LABELING  # its watch task lost: always worth restarting
        if not labeling and _sweeper_requeues_in_a_row(r) >= settings.ARBITER.get("SWEEP_MAX_REQUEUES", 2):
            round_transition(
                round_id=r.id, to_state=RoundState.FAILED, reason=f"{SWEEP_REASON} since {since}",
                error=f"The worker running {r.state} stopped again (no heartbeat since {since}). Resume to retry.",
                expected_from=r.state,
            )  # fmt: skip
            report.failed.append(r.id)
            return
        round_requeue(round_id=r.id, reason=f"{SWEEP_REASON} since {since}; resumed from its checkpoint")
        report.requeued.append(r.id)


def rounds_sweep(*, now: datetime | None = None) -> RoundSweep:
    now = now or clock.now()
    report = RoundSweep()
    stale = Q(progress_updated_at__lt=now - round_stale_after()) | Q(progress_updated_at=None)
    has_worker = ~Q(running_task_id="") | Q(state=RoundState.LABELING)
    candidates = TrainingRound.objects.filter(state__in=PHASES).filter(~Q(enqueue_error="") | (stale & has_worker))
    for round_id in candidates.values_list("id", flat=True):
        try:
            _sweep_one(round_id, now, report)
        except BrokerUnavailable:
            report.still_unqueued.append(round_id)
        except Conflict:  # moved on meanwhile
            continue
    if report.requeued or report.failed:
        log.warning("round sweep: requeued %s, failed %s", report.requeued, report.failed)
    return report
