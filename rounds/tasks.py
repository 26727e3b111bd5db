"""Celery tasks: load the round by id, run one phase through a service. Training tasks (gpu_*) go to the gpu queue."""

from __future__ import annotations

from celery import Task, shared_task

from rounds.models import RoundState
from rounds.phases import evaluation, labeling, policy, reward, sampling
from rounds.phases.base import phase_execute
from rounds.services.sweeper import rounds_sweep


@shared_task(bind=True, name="rounds.tasks.gpu_sample")
def gpu_sample(self, round_id: int) -> None:
    phase_execute(phase=RoundState.SAMPLING, service=sampling.round_sample, round_id=round_id, task_id=self.request.id)


@shared_task(bind=True, name="rounds.tasks.gpu_reward_train")
def gpu_reward_train(self, round_id: int) -> None:
    phase_execute(
        phase=RoundState.REWARD_TRAINING, service=reward.round_reward_train, round_id=round_id, task_id=self.request.id
    )


@shared_task(bind=True, name="rounds.tasks.gpu_policy_optimize")
def gpu_policy_optimize(self, round_id: int) -> None:
    phase_execute(
        phase=RoundState.POLICY_OPTIMIZATION, service=policy.round_policy_optimize, round_id=round_id,
        task_id=self.request.id,
    )  # fmt: skip


@shared_task(bind=True, name="rounds.tasks.gpu_evaluate")
def gpu_evaluate(self, round_id: int) -> None:
    phase_execute(
        phase=RoundState.EVALUATION, service=evaluation.round_evaluate, round_id=round_id, task_id=self.request.id
    )


@shared_task(name="rounds.tasks.labeling_watch")
def labeling_watch(round_id: int) -> None:
    """Poll a labeling round until its comparisons target is reached, re-queueing itself meanwhile."""
    moved = labeling.round_labeling_check(round_id=round_id)
    if not moved and labeling.round_still_labeling(round_id=round_id):
        labeling_watch.apply_async((round_id,), countdown=labeling.labeling_poll_seconds())


PHASE_TASKS: dict[str, Task] = {
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
