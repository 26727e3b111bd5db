"""Celery tasks: load the round by id, run one phase through a service. Training tasks (gpu_*) go to the gpu queue."""

from __future__ import annotations

import contextlib
import logging

from celery import shared_task

from labeling.services.errors import Conflict
from rounds.models import RoundState
from rounds.services import phases, training
from rounds.services.progress import PhaseStopped
from rounds.services.state import round_transition
from rounds.services.sweeper import rounds_sweep

log = logging.getLogger(__name__)


def _run(phase: str, service, round_id: int, task_id: str) -> None:
    """Run a phase; a cancel stops it quietly, any other error marks the round failed (resumable)."""
    try:
        service(round_id=round_id, task_id=task_id)
    except PhaseStopped:
        log.info("round %s left %s; the task stops", round_id, phase)
    except Exception as exc:
        log.exception("round %s failed in %s", round_id, phase)
        with contextlib.suppress(Conflict):  # another transition (a cancel) got there first
            round_transition(
                round_id=round_id, to_state=RoundState.FAILED, reason=f"{phase} failed",
                error=f"{type(exc).__name__}: {exc}", expected_from=phase,
            )  # fmt: skip


@shared_task(bind=True, name="rounds.tasks.gpu_sample")
def gpu_sample(self, round_id: int) -> None:
    _run(RoundState.SAMPLING, phases.round_sample, round_id, self.request.id)


@shared_task(bind=True, name="rounds.tasks.gpu_reward_train")
def gpu_reward_train(self, round_id: int) -> None:
    _run(RoundState.REWARD_TRAINING, training.round_reward_train, round_id, self.request.id)


@shared_task(bind=True, name="rounds.tasks.gpu_policy_optimize")
def gpu_policy_optimize(self, round_id: int) -> None:
    _run(RoundState.POLICY_OPTIMIZATION, training.round_policy_optimize, round_id, self.request.id)


@shared_task(bind=True, name="rounds.tasks.gpu_evaluate")
def gpu_evaluate(self, round_id: int) -> None:
    _run(RoundState.EVALUATION, training.round_evaluate, round_id, self.request.id)


@shared_task(name="rounds.tasks.labeling_watch")
def labeling_watch(round_id: int) -> None:
    """Poll a labeling round until its comparisons target is reached, re-queueing itself meanwhile."""
    moved = phases.round_labeling_check(round_id=round_id)
    if not moved and phases.round_still_labeling(round_id=round_id):
        labeling_watch.apply_async((round_id,), countdown=phases.labeling_poll_seconds())


PHASE_TASKS = {
    RoundState.SAMPLING: gpu_sample,
    RoundState.LABELING: labeling_watch,
    RoundState.REWARD_TRAINING: gpu_reward_train,
    RoundState.POLICY_OPTIMIZATION: gpu_policy_optimize,
    RoundState.EVALUATION: gpu_evaluate,
}


@shared_task(name="rounds.sweep")
def rounds_sweep_task() -> None:
    """Periodic (beat): re-queue phases whose worker died or whose task the broker refused."""
    rounds_sweep()
