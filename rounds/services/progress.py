"""Progress of a running phase: percent, message, ETA and heartbeat written to the round's row; a cancel (or a
takeover by another task) stops the phase."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings

from common import clock
from rounds.models import TrainingRound

WRITE_INTERVAL_S = 1.0


def round_stale_after() -> timedelta:
    """How long a phase may go without a heartbeat before its task counts as lost."""
    return timedelta(seconds=settings.ARBITER.get("ROUND_STALE_SECONDS", 900))


def heartbeat_is_stale(training_round: TrainingRound, *, now: datetime | None = None) -> bool:
    beat = training_round.progress_updated_at
    return beat is None or (now or clock.now()) - beat >= round_stale_after()


class PhaseStopped(Exception):
    """The round left the phase (cancelled, or failed/resumed elsewhere): stop without writing more."""


class PhaseProgress:
    """callable(fraction, message), handed to the ML engine as its `progress`. Raising PhaseStopped inside the
    engine's loop is how a cancel reaches it. Sub-steps map into [start, end] of the phase's percent."""

    def __init__(
        self, *, round_id: int, phase: str, start: float = 0.0, end: float = 1.0, task_id: str | None = None
    ) -> None:
        self.round_id, self.phase = round_id, phase
        self.start, self.end = start, end
        # The task that claimed the phase (phase_claim runs just before the reporter is made): once another
        # task takes the phase over (this one's heartbeat went stale), this one stops at its next report.
        if task_id is None:
            task_id = TrainingRound.objects.filter(id=round_id).values_list("running_task_id", flat=True).first()
        self.task_id = task_id or ""
        self.began = time.monotonic()
        self._last_write = 0.0

    def span(self, start: float, end: float) -> PhaseProgress:
        """A reporter for a sub-step covering [start, end] of this one."""
        width = self.end - self.start
        child = PhaseProgress(
            round_id=self.round_id, phase=self.phase, start=self.start + start * width, end=self.start + end * width,
            task_id=self.task_id,
        )  # fmt: skip
        child.began = self.began
        return child

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        overall = self.start + max(0.0, min(1.0, fraction)) * (self.end - self.start)
        if now - self._last_write < WRITE_INTERVAL_S and fraction < 1.0:
            return
        self._last_write = now
        elapsed = now - self.began
        eta = elapsed * (1 - overall) / overall if overall > 0.01 else None
        # One conditional UPDATE writes progress and the heartbeat, and detects that the round left this phase
        # or that another task took it over.
        updated = TrainingRound.objects.filter(id=self.round_id, state=self.phase, running_task_id=self.task_id).update(
            progress_percent=round(100 * overall, 2),
            progress_message=message[:300],
            progress_eta_seconds=eta,
            progress_updated_at=clock.now(),
        )
        if not updated:
            raise PhaseStopped(f"round {self.round_id} is no longer in {self.phase}")
