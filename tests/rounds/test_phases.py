"""A round run in this process through the phase services (rounds.phases), on the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.exports.split import split_for_prompt
from labeling.models import Pair, Prompt
from rewards.data import PreferenceExample
from rounds import ml_bridge
from rounds.models import RoundState, TrainingRound
from rounds.phases.evaluation import evaluation_prompts
from rounds.phases.inline import round_run_inline
from rounds.phases.reward import heldout_fallback
from rounds.selectors import round_evaluation_samples
from rounds.services.lifecycle import round_create, round_start
from rounds.simulation import simulated_labelers_run
from training.ppo.evaluate import policy_evaluate

from .conftest import TINY_SETTINGS

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]


def _seed_without_validation_prompts(prompts: list[Prompt], heldout_fraction: float) -> int:
    """A seed for which the export's hash split puts none of `prompts` in validation."""
    fractions = (1.0 - heldout_fraction, heldout_fraction, 0.0)
    for seed in range(1000):
        splits = {split_for_prompt(prompt_key=p.content_hash, seed=seed, fractions=fractions) for p in prompts}
        if splits == {"train"}:
            return seed
    raise AssertionError("no such seed")


def test_a_small_round_runs_to_done_and_holds_out_a_prompt_when_the_export_has_no_validation(fable_project, researcher):
    # TINY_SETTINGS leaves rm_heldout_fraction at its default (> 0); the round's batch is the first 4 prompts.
    batch = list(Prompt.objects.filter(project=fable_project).order_by("id"))[: TINY_SETTINGS["num_prompts"]]
    seed = _seed_without_validation_prompts(batch, heldout_fraction=0.2)
    r = round_create(project=fable_project, created_by=researcher, settings={**TINY_SETTINGS, "seed": seed})
    round_start(training_round=r, actor=researcher)
    phases: list[str] = []
    r = round_run_inline(
        round_id=r.id,
        label=lambda _: simulated_labelers_run(project=fable_project, labelers=2, noise=0.1),
        on_phase=lambda state, _seconds: phases.append(state),
    )
    assert r.state == RoundState.DONE, r.error
    assert phases == [s.value for s in (RoundState.SAMPLING, RoundState.LABELING, RoundState.REWARD_TRAINING,
                                        RoundState.POLICY_OPTIMIZATION, RoundState.EVALUATION)]  # fmt: skip

    # The export split left validation empty; one prompt's comparisons were held out instead.
    rm = r.reward_model
    validation = Path(rm.export_path) / "validation.jsonl"
    assert not validation.is_file() or not validation.read_text().strip()
    assert rm.metrics["eval_pairs"] > 0 and rm.metrics["train_pairs"] > 0
    assert rm.metrics["heldout"]["n"] == rm.metrics["eval_pairs"]

    # Every phase's metrics survive the later phases' merges.
    assert set(r.metrics) == {"sampling", "reward_model", "ppo", "evaluation"}
    assert r.metrics["sampling"]["pairs"] == Pair.objects.filter(project=fable_project, batch=r.batch).count()
    assert r.batch == "round-1" and r.eval_batch == "round-1-eval"

    # The evaluation is the ML engine's policy evaluation with the round's settings: recomputing it agrees.
    settings = ml_bridge.round_settings(r)
    evaluation = r.metrics["evaluation"]
    again = policy_evaluate(
        policy_dir=ml_bridge.model_dir(r.new_policy.artifact_path),
        reference_dir=ml_bridge.model_dir(r.policy.artifact_path),
        prompts=[p.text for p in evaluation_prompts(training_round=r, settings=settings)],
        reward_model_dir=rm.artifact_path,
        temperature=settings.ppo.temperature,
        max_new_tokens=settings.max_new_tokens,
        batch_size=settings.sampling_batch_size,
        seed=settings.seed + 777,
        missing_eos_penalty=settings.ppo.missing_eos_penalty,
        instruction_template=settings.instruction_template,
        max_prompt_tokens=settings.ppo.max_prompt_tokens,
    )
    assert evaluation["rm_score_new"] == pytest.approx(again["score"], abs=1e-5)
    assert evaluation["rm_score_raw_new"] == pytest.approx(again["score_raw"], abs=1e-5)
    assert evaluation["kl_vs_previous"] == pytest.approx(again["kl"], abs=1e-5)
    assert evaluation["kl_vs_initial"] == evaluation["kl_vs_previous"]  # round 1: previous = initial
    assert evaluation["human_eval_pairs"] == Pair.objects.filter(project=fable_project, batch=r.eval_batch).count()
    assert TrainingRound.objects.get(id=r.id).phase_seconds.keys() == set(phases)

    # Each held-out prompt's two responses and scores are kept for the samples view; they make up the means.
    samples = round_evaluation_samples(training_round=r, order="prompt")
    heldout = evaluation_prompts(training_round=r, settings=settings)
    assert [row["prompt"] for row in samples] == [p.text for p in heldout]
    for side, mean in (("new", "rm_score_new"), ("previous", "rm_score_previous")):
        assert sum(row[side]["score"] for row in samples) / len(samples) == pytest.approx(evaluation[mean], abs=1e-6)
    queued = Pair.objects.filter(project=fable_project, batch=r.eval_batch).select_related("sample_a", "sample_b")
    texts = {(row["new"]["text"], row["previous"]["text"]) for row in samples}
    for pair in queued:  # the pairs humans judge are those same responses
        by_policy = {pair.sample_a.policy_id: pair.sample_a.text, pair.sample_b.policy_id: pair.sample_b.text}
        assert (by_policy[r.new_policy_id], by_policy[r.policy_id]) in texts


def example(prompt: str) -> PreferenceExample:
    return PreferenceExample(prompt=prompt, chosen="good", rejected="bad")


def test_heldout_fallback_holds_out_the_last_prompt_only_when_needed():
    train = [example("p1"), example("p2"), example("p1"), example("p3"), example("p3")]
    kept, held = heldout_fallback(train, [], heldout_fraction=0.2)
    assert [e.prompt for e in held] == ["p3", "p3"] and [e.prompt for e in kept] == ["p1", "p2", "p1"]
    # A split that has held-out rows, no held-out fraction, or a single prompt is left as it is.
    assert heldout_fallback(train, [example("p9")], heldout_fraction=0.2) == (train, [example("p9")])
    assert heldout_fallback(train, [], heldout_fraction=0.0) == (train, [])
    assert heldout_fallback([example("p1")] * 3, [], heldout_fraction=0.2) == ([example("p1")] * 3, [])
