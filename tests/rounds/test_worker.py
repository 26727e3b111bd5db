"""Rounds run by a real Celery worker (Redis broker, queues default + gpu) on the tiny model."""

from __future__ import annotations

import json
import math
import os
import signal
import time
from pathlib import Path

import pytest

from labeling.models import Pair, PolicyKind, Sample
from rounds.models import RoundState, TrainingRound
from rounds.selectors import win_rate
from rounds.services.lifecycle import round_create, round_resume, round_start
from rounds.simulation import simulated_labelers_run
from training.ppo.checkpoint import checkpoint_load

from .conftest import TINY_SETTINGS
from .worker import rounds_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]
EVERY_STATE = {s.value for s in RoundState} - {RoundState.CREATED, RoundState.FAILED, RoundState.CANCELLED}


def wait_for(round_id: int, predicate, worker, *, timeout: float = 240, what: str = "") -> TrainingRound:
    deadline = time.monotonic() + timeout
    while True:
        r = TrainingRound.objects.get(id=round_id)
        if predicate(r):
            return r
        if r.state in (RoundState.FAILED, RoundState.CANCELLED):
            pytest.fail(f"round {r.number} is {r.state} ({r.error}) waiting for {what}\n{worker.log()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out waiting for {what}; round is {r.state} {r.progress_message}\n{worker.log()[-4000:]}"
            )
        time.sleep(0.3)


def run_round(project, researcher, worker, settings=TINY_SETTINGS) -> TrainingRound:
    r = round_create(project=project, created_by=researcher, settings=settings)
    round_start(training_round=r, actor=researcher)
    wait_for(r.id, lambda x: x.state == RoundState.LABELING, worker, what="labeling")
    simulated_labelers_run(project=project, labelers=2, noise=0.1)
    return wait_for(r.id, lambda x: x.state == RoundState.DONE, worker, what="done")


def test_two_rounds_close_the_loop(fable_project, researcher):
    with rounds_worker() as worker:
        first = run_round(fable_project, researcher, worker)
        second = run_round(fable_project, researcher, worker)

    for r in (first, second):
        assert {t.to_state for t in r.transitions.all()} >= EVERY_STATE
        assert r.new_policy.kind == PolicyKind.TRAINED
        assert (Path(r.new_policy.artifact_path) / "config.json").is_file()
        rm = r.reward_model
        assert (Path(rm.artifact_path) / "reward_config.json").is_file()
        assert len(rm.export_manifest_hash) == 64 and rm.export is not None
        assert rm.parent_policy == r.initial_policy
        assert r.metrics["ppo"]["steps"] == 2 and len(r.metrics["ppo"]["curve"]) == 2
        evaluation = r.metrics["evaluation"]
        assert all(math.isfinite(evaluation[k]) for k in ("kl_vs_previous", "kl_vs_initial", "rm_score_new"))
        assert set(r.phase_seconds) == EVERY_STATE - {RoundState.DONE}
        assert r.compute_achieved["reward_training"]["flops_per_second"] > 0

    # The second round samples from the first round's PPO policy and trains on both rounds' comparisons.
    assert second.policy == first.new_policy
    batch_policies = set(
        Sample.objects.filter(id__in=Pair.objects.filter(batch=second.batch).values("sample_a")).values_list(
            "policy", flat=True
        )
    ) | set(
        Sample.objects.filter(id__in=Pair.objects.filter(batch=second.batch).values("sample_b")).values_list(
            "policy", flat=True
        )
    )
    assert first.new_policy_id in batch_policies
    # Round 1 compared against the initial policy only; round 2's previous policy is round 1's, a second reference.
    assert first.metrics["evaluation"]["kl_vs_initial"] == first.metrics["evaluation"]["kl_vs_previous"]
    assert second.metrics["evaluation"]["kl_vs_initial"] != second.metrics["evaluation"]["kl_vs_previous"]
    assert second.reward_model.metrics["batches"] == [first.batch, second.batch]
    assert second.new_policy.metadata["previous_policy"] == first.new_policy_id
    assert second.new_policy.metadata["reward_model"] == second.reward_model_id
    # Round 1's new-vs-previous pairs were judged during round 2's labeling: a human win rate with an interval.
    queued = first.metrics["evaluation"]["human_eval_pairs"]
    assert queued > 0
    rate = win_rate(training_round=first)
    assert rate["n"] == queued * fable_project.overlap and rate["wins"] + rate["losses"] + rate["ties"] == rate["n"]
    assert rate["ci95"][0] <= rate["rate"] <= rate["ci95"][1]


def test_killed_worker_leaves_round_resumable(fable_project, researcher, settings):
    # Resume refuses a phase with a live heartbeat (409); a short stale time lets this test resume soon after.
    settings.ARBITER = {**settings.ARBITER, "ROUND_STALE_SECONDS": 3}
    # Enough PPO steps that the round is still optimising when the kill lands after the second checkpoint,
    # however fast the machine is between two polls.
    steps = 30
    settings = {**TINY_SETTINGS, "ppo": {**TINY_SETTINGS["ppo"], "total_episodes": 2 * steps}}
    with rounds_worker() as worker:
        token = worker.queues["default"].split(".", 1)[1]
        r = round_create(project=fable_project, created_by=researcher, settings=settings)
        round_start(training_round=r, actor=researcher)
        wait_for(r.id, lambda x: x.state == RoundState.LABELING, worker, what="labeling")
        simulated_labelers_run(project=fable_project, labelers=2, noise=0.1)
        ppo_dir = lambda x: Path(x.artifact_dir) / "ppo"  # noqa: E731

        def two_checkpointed_steps(x: TrainingRound) -> bool:
            if x.state != RoundState.POLICY_OPTIMIZATION:
                return False
            checkpoint = checkpoint_load(ppo_dir(x))
            return checkpoint is not None and checkpoint.step >= 2

        r = wait_for(r.id, two_checkpointed_steps, worker, what="2 PPO checkpoints", timeout=300)
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)
        before = [json.loads(x) for x in (ppo_dir(r) / "metrics.jsonl").read_text().splitlines() if x.strip()]
        resumed_from = checkpoint_load(ppo_dir(r)).step

    time.sleep(3.5)  # the killed worker's last heartbeat goes stale
    r.refresh_from_db()
    assert r.state == RoundState.POLICY_OPTIMIZATION  # stuck, not lost: the work and the checkpoint remain

    with rounds_worker(token=token) as worker:  # a new worker on the same queues
        round_resume(training_round=r, actor=researcher)
        r = wait_for(r.id, lambda x: x.state == RoundState.DONE, worker, what="done after resume", timeout=300)

    after = [json.loads(x) for x in (ppo_dir(r) / "metrics.jsonl").read_text().splitlines() if x.strip()]
    assert [m["step"] for m in after] == list(range(1, steps + 1))
    # Steps up to the checkpoint were kept, not recomputed (their timings are byte-identical).
    assert after[:resumed_from] == before[:resumed_from]
    assert r.metrics["ppo"]["steps"] == steps
    assert r.transitions.filter(
        from_state=RoundState.POLICY_OPTIMIZATION, to_state=RoundState.POLICY_OPTIMIZATION, actor=researcher
    ).exists()
