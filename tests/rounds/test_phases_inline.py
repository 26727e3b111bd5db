"""One round's phases run in-process (no worker), on the tiny model: samples, pairs, RM, PPO, evaluation."""
from __future__ import annotations

import pytest

from labeling.models import Pair, PolicyKind
from rounds.models import RoundState, TrainingRound
from rounds.services import phases, training
from rounds.services.lifecycle import round_create
from rounds.services.state import round_transition
from rounds.simulation import simulated_labelers_run

from .conftest import TINY_SETTINGS

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_round_inline(fable_project, researcher):
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    round_transition(round_id=r.id, to_state=RoundState.SAMPLING, actor=researcher, reason="test")
    phases.round_sample(round_id=r.id, task_id="t1")
    r.refresh_from_db()
    assert r.state == RoundState.LABELING
    assert Pair.objects.filter(batch=r.batch).count() > 0
    simulated_labelers_run(project=fable_project, labelers=2, noise=0.0, oracle="shorter")
    assert phases.round_labeling_check(round_id=r.id)
    training.round_reward_train(round_id=r.id, task_id="t2")
    r.refresh_from_db()
    assert r.state == RoundState.POLICY_OPTIMIZATION, r.error
    training.round_policy_optimize(round_id=r.id, task_id="t3")
    r.refresh_from_db()
    assert r.state == RoundState.EVALUATION
    assert r.new_policy.kind == PolicyKind.TRAINED
    training.round_evaluate(round_id=r.id, task_id="t4")
    r = TrainingRound.objects.get(id=r.id)
    assert r.state == RoundState.DONE
    print(r.metrics, r.phase_seconds, r.compute_achieved)
