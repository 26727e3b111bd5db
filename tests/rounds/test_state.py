"""State machine rules of training rounds: allowed moves, recorded transitions, resume, settings validation."""

from __future__ import annotations

import pytest

from common.errors import Conflict, DomainError
from rounds.config import RoundSettingsError, round_settings_parse
from rounds.models import RoundState, RoundTransition
from rounds.services.lifecycle import round_cancel, round_close_labeling, round_create, round_resume, round_start
from rounds.services.state import ALLOWED, round_transition, transition_allowed

from .conftest import TINY_SETTINGS

S = RoundState
pytestmark = pytest.mark.django_db


@pytest.fixture
def new_round(fable_project, researcher):
    return round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)


def test_table_forward_only_and_terminal_states():
    assert transition_allowed(S.SAMPLING, S.LABELING)
    assert not transition_allowed(S.SAMPLING, S.REWARD_TRAINING)  # no skipping labeling
    assert not transition_allowed(S.LABELING, S.SAMPLING)  # never backwards
    assert ALLOWED[S.DONE] == frozenset() and ALLOWED[S.CANCELLED] == frozenset()
    for phase in (S.SAMPLING, S.LABELING, S.REWARD_TRAINING, S.POLICY_OPTIMIZATION, S.EVALUATION):
        assert transition_allowed(phase, S.FAILED) and transition_allowed(phase, S.CANCELLED)


def test_create_registers_initial_policy_and_estimate(new_round):
    assert new_round.state == S.CREATED and new_round.number == 1
    assert new_round.policy == new_round.initial_policy
    assert new_round.initial_policy.kind == "initial" and new_round.initial_policy.artifact_path == "tiny"
    flops = new_round.compute_estimate["flops"]
    assert set(flops) == {"sampling", "reward_training", "policy_optimization", "evaluation"}
    p = new_round.compute_estimate["workload"]["parameters"]
    assert p > 0 and flops["sampling"] == pytest.approx(
        2
        * p
        * new_round.compute_estimate["workload"]["sampled_rows"]
        * (new_round.compute_estimate["workload"]["prompt_tokens"] + TINY_SETTINGS["max_new_tokens"])
    )


def test_transitions_are_recorded_with_actor_and_reason(new_round, researcher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        round_start(training_round=new_round, actor=researcher)
    assert len(callbacks) == 1  # the sampling task is queued only once the transaction commits
    round_transition(round_id=new_round.id, to_state=S.LABELING, reason="pairs queued")
    t = list(RoundTransition.objects.filter(round=new_round))
    assert [(x.from_state, x.to_state) for x in t] == [(S.CREATED, S.SAMPLING), (S.SAMPLING, S.LABELING)]
    assert t[0].actor == researcher and t[0].reason == "started" and t[1].actor is None


def test_illegal_moves_are_refused_and_change_nothing(new_round, researcher):
    with pytest.raises(Conflict):
        round_transition(round_id=new_round.id, to_state=S.REWARD_TRAINING)
    with pytest.raises(Conflict):
        round_close_labeling(training_round=new_round, actor=researcher)
    round_start(training_round=new_round, actor=researcher)
    with pytest.raises(Conflict):
        round_start(training_round=new_round, actor=researcher)
    new_round.refresh_from_db()
    assert new_round.state == S.SAMPLING and new_round.transitions.count() == 1


def test_worker_guard_refuses_a_round_cancelled_meanwhile(new_round, researcher):
    round_start(training_round=new_round, actor=researcher)
    round_cancel(training_round=new_round, actor=researcher, reason="wrong settings")
    with pytest.raises(Conflict):
        round_transition(round_id=new_round.id, to_state=S.LABELING, expected_from=S.SAMPLING)
    with pytest.raises(Conflict):
        round_resume(training_round=new_round, actor=researcher)
    new_round.refresh_from_db()
    assert new_round.state == S.CANCELLED and new_round.finished_at is not None


def test_failed_round_resumes_only_where_it_failed(new_round, researcher):
    round_start(training_round=new_round, actor=researcher)
    round_transition(round_id=new_round.id, to_state=S.LABELING)
    round_transition(round_id=new_round.id, to_state=S.REWARD_TRAINING)
    round_transition(round_id=new_round.id, to_state=S.FAILED, error="OOM")
    new_round.refresh_from_db()
    assert new_round.failed_in == S.REWARD_TRAINING and new_round.error == "OOM"
    with pytest.raises(Conflict):
        round_transition(round_id=new_round.id, to_state=S.SAMPLING)
    round_resume(training_round=new_round, actor=researcher)
    new_round.refresh_from_db()
    assert new_round.state == S.REWARD_TRAINING and new_round.error == ""


def test_resume_of_a_stalled_phase_records_a_self_transition(new_round, researcher):
    from datetime import timedelta

    from rounds.models import TrainingRound

    round_start(training_round=new_round, actor=researcher)
    with pytest.raises(Conflict, match="queued and waiting for a worker"):
        round_resume(training_round=new_round, actor=researcher)
    quiet = TrainingRound.objects.get(id=new_round.id).progress_updated_at - timedelta(hours=1)
    TrainingRound.objects.filter(id=new_round.id).update(progress_updated_at=quiet)
    round_resume(training_round=new_round, actor=researcher, reason="worker lost")
    last = new_round.transitions.last()
    assert (last.from_state, last.to_state, last.reason) == (S.SAMPLING, S.SAMPLING, "worker lost")


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"num_prompts": 0}, "num_prompts"),
        ({"pair_mix": {"current_vs_nothing": 1}}, "pair_mix"),
        ({"pair_mix": {"current_vs_initial": 0}}, "pair_mix"),
        ({"ppo": {"batch_size": 3, "mini_batch_size": 2}}, "ppo"),
        ({"reward": {"no_such_field": 1}}, "reward"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_settings_name_the_field(fable_project, researcher, bad, field):
    with pytest.raises(DomainError, match=field):
        round_create(project=fable_project, created_by=researcher, settings=bad)


def test_settings_round_trip():
    parsed = round_settings_parse(TINY_SETTINGS)
    assert round_settings_parse(parsed.to_dict()) == parsed
    with pytest.raises(RoundSettingsError):
        round_settings_parse({"cumulative": "yes"})


def test_cancel_reaches_a_running_phase_through_its_progress(new_round, researcher):
    from rounds.services.progress import PhaseProgress, PhaseStopped

    round_start(training_round=new_round, actor=researcher)
    progress = PhaseProgress(round_id=new_round.id, phase=S.SAMPLING)
    progress(0.5, "half way")
    new_round.refresh_from_db()
    assert new_round.progress_percent == 50.0 and new_round.progress_message == "half way"
    round_cancel(training_round=new_round, actor=researcher)
    with pytest.raises(PhaseStopped):
        progress(1.0, "done")


def test_one_task_per_phase_unless_the_other_went_quiet(new_round, researcher):
    from datetime import timedelta

    from rounds.models import TrainingRound
    from rounds.phases.base import phase_claim

    round_start(training_round=new_round, actor=researcher)
    assert phase_claim(round_id=new_round.id, phase=S.SAMPLING, task_id="first") is not None
    assert phase_claim(round_id=new_round.id, phase=S.SAMPLING, task_id="first") is not None  # redelivery
    assert phase_claim(round_id=new_round.id, phase=S.SAMPLING, task_id="second") is None  # duplicate
    assert phase_claim(round_id=new_round.id, phase=S.LABELING, task_id="first") is None  # wrong phase
    quiet = TrainingRound.objects.get(id=new_round.id).progress_updated_at - timedelta(hours=1)
    TrainingRound.objects.filter(id=new_round.id).update(progress_updated_at=quiet)
    assert phase_claim(round_id=new_round.id, phase=S.SAMPLING, task_id="second") is not None  # took over


def test_base_model_is_refused_once_the_project_has_another_initial_policy(new_round, fable_project, researcher):
    assert new_round.initial_policy.artifact_path == "tiny"
    with pytest.raises(DomainError, match=r"base_model 'tiny-gpt2'.*already has the initial policy"):
        round_create(
            project=fable_project, created_by=researcher, settings={**TINY_SETTINGS, "base_model": "tiny-gpt2"}
        )
    # Naming the same model, or none, reuses the project's initial policy.
    same = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    unnamed = round_create(
        project=fable_project,
        created_by=researcher,
        settings={k: v for k, v in TINY_SETTINGS.items() if k != "base_model"},
    )
    assert same.initial_policy == unnamed.initial_policy == new_round.initial_policy
    assert [r.number for r in (new_round, same, unnamed)] == [1, 2, 3]


def test_the_form_offers_the_projects_base_model(new_round, fable_project, make_project):
    from rounds.services.lifecycle import base_model_default

    assert base_model_default(project=make_project(pairs=0)) == "tiny"
    new_round.initial_policy.artifact_path = "smollm2-135m"
    new_round.initial_policy.save()
    assert base_model_default(project=fable_project) == "smollm2-135m"
