"""Progress of a running phase: percent, message and ETA written to the round's row; a cancel stops the phase."""

from __future__ import annotations

import time

from labeling.services import clock
from rounds.models import TrainingRound

WRITE_INTERVAL_S = 1.0


class PhaseStopped(Exception):
    """The round left the phase (cancelled, or failed/resumed elsewhere): stop without writing more."""


class PhaseProgress:
    """callable(fraction, message), handed to the ML engine as its `progress`. Raising PhaseStopped inside the
    engine's loop is how a cancel reaches it. Sub-steps map into [start, end] of the phase's percent."""

    def __init__(self, *, round_id: int, phase: str, start: float = 0.0, end: float = 1.0) -> None:
        self.round_id, self.phase = round_id, phase
        self.start, self.end = start, end
        self.began = time.monotonic()
        self._last_write = 0.0

    def span(self, start: float, end: float) -> PhaseProgress:
        """A reporter for a sub-step covering [start, end] of this one."""
        width = self.end - self.start
        child = PhaseProgress(
            round_id=self.round_id, phase=self.phase, start=self.start + start * width, end=self.start + end * width
        )
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
        # One conditional UPDATE both writes progress and detects that the round left this phase.
        updated = TrainingRound.objects.filter(id=self.round_id, state=self.phase).update(
            progress_percent=round(100 * overall, 2),
            progress_message=message[:300],
            progress_eta_seconds=eta,
            progress_updated_at=clock.now(),
        )
        if not updated:
            raise PhaseStopped(f"round {self.round_id} is no longer in {self.phase}")
