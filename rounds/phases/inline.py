"""Running a started round to its end from this process (demo, tests), through the same phase services and
failure rule a worker uses; nothing is enqueued for the phases, and their ML work runs in the same launched
child processes as under a worker (one code path)."""

from __future__ import annotations

import time
from collections.abc import Callable

from rounds.models import RoundState, TrainingRound
from rounds.phases import evaluation, labeling, policy, reward, sampling
from rounds.phases.base import PhaseService, phase_execute
from rounds.services.lifecycle import round_close_labeling

S = RoundState
PHASE_SERVICES: dict[str, PhaseService] = {
    S.SAMPLING: sampling.round_sample,
    S.REWARD_TRAINING: reward.round_reward_train,
    S.POLICY_OPTIMIZATION: policy.round_policy_optimize,
    S.EVALUATION: evaluation.round_evaluate,
}
ENDED = (S.DONE, S.FAILED, S.CANCELLED)


def round_run_inline(
    *,
    round_id: int,
    label: Callable[[TrainingRound], object],
    task_id: str = "",
    on_phase: Callable[[str, float], None] | None = None,
) -> TrainingRound:
    """Run the round's phases here until it is done, failed or cancelled. At labeling, `label(round)` judges
    pairs; then the round moves on at its comparisons target, or is closed early with what was judged.
    `on_phase(state, seconds)` hears each phase's wall time. Returns the round as it ended."""
    task_id = task_id or f"inline-{round_id}"
    while True:
        r = TrainingRound.objects.get(id=round_id)
        if r.state in ENDED:
            return r
        if r.state not in PHASE_SERVICES and r.state != S.LABELING:
            raise ValueError(f"round {r.number} is {r.state}; start it before running it")
        began = time.monotonic()
        if r.state == S.LABELING:
            label(r)
            if not labeling.round_labeling_check(round_id=round_id):
                round_close_labeling(training_round=r, actor=None, reason="the labelers finished the queue")
        else:
            phase_execute(phase=r.state, service=PHASE_SERVICES[r.state], round_id=round_id, task_id=task_id)
        if on_phase is not None:
            on_phase(r.state, time.monotonic() - began)
        if TrainingRound.objects.filter(id=round_id, state=r.state).exists():
            raise RuntimeError(f"round {r.number} is still in {r.state}: another task holds the phase")
