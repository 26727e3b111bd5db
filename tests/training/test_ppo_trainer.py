"""PPO on the tiny model: learning signal, KL, missing-EOS penalty, outputs usable downstream."""

import json
import math

import pytest
import torch

from tests.training.ppo_fixtures import (  # noqa: F401  (fixtures)
    PROMPTS,
    e_frequency_score,
    fast_config,
    tiny_policy_dir,
    tiny_reward_model_dir,
)
from training.loading import load_policy
from training.ppo import PPOConfig, policy_evaluate, ppo_train
from training.ppo.rollout import penalise_missing_eos
from training.sampling import SamplingConfig, generate_samples


def _mean(records, key):
    return sum(r[key] for r in records) / len(records)


def test_score_rises_while_kl_stays_bounded(tiny_policy_dir, tmp_path):
    config = fast_config(total_episodes=32 * 24)
    result = ppo_train(
        config=config, policy_dir=tiny_policy_dir, prompts=PROMPTS, out_dir=tmp_path, scorer=e_frequency_score
    )
    assert result.steps == 24 and len(result.metrics) == 24
    first, last = _mean(result.metrics[:4], "score"), _mean(result.metrics[-4:], "score")
    assert last > first + 0.5, (first, last)
    assert result.metrics[0]["kl"] == pytest.approx(0.0, abs=1e-4)  # policy == reference before any update
    # Bounded: under 2.5 nats per token of the 8-token responses (a uniform-over-vocab drift would be far larger).
    assert all(math.isfinite(r["kl"]) and r["kl"] < 20.0 for r in result.metrics)
    assert _mean(result.metrics[-4:], "entropy") < result.metrics[0]["entropy"]
    common = dict(
        reference_dir=tiny_policy_dir,
        prompts=PROMPTS,
        scorer=e_frequency_score,
        max_new_tokens=8,
        batch_size=32,
        instruction_template="{text}",
        missing_eos_penalty=0.0,
        device="cpu",
    )
    before = policy_evaluate(policy_dir=tiny_policy_dir, **common)
    after = policy_evaluate(policy_dir=result.policy_dir, **common)
    assert after["score"] > before["score"] + 0.5, (before, after)
    assert before["kl"] == pytest.approx(0.0, abs=1e-5) and 0 < after["kl"] < 20.0
    for key in (
        "non_score_reward",
        "policy_clip_fraction",
        "value_clip_fraction",
        "approx_kl",
        "value_loss",
        "response_length",
        "eos_rate",
        "time_generation",
        "time_scoring",
        "time_optimisation",
    ):
        assert all(math.isfinite(r[key]) for r in result.metrics), key


def test_stronger_kl_penalty_keeps_policy_closer(tiny_policy_dir, tmp_path):
    kls = {}
    for coef in (0.0, 2.0):
        config = fast_config(total_episodes=32 * 10, kl_coef=coef)
        result = ppo_train(
            config=config,
            policy_dir=tiny_policy_dir,
            prompts=PROMPTS,
            out_dir=tmp_path / str(coef),
            scorer=e_frequency_score,
        )
        kls[coef] = _mean(result.metrics[-3:], "kl")
    assert kls[2.0] < kls[0.0], kls


def test_missing_eos_responses_are_penalised(tiny_policy_dir, tmp_path):
    # A constant scorer makes the expected step score exact: 5 with EOS, 5 - 1.5 without.
    config = fast_config(total_episodes=64, max_new_tokens=3, missing_eos_penalty=1.5)
    result = ppo_train(
        config=config,
        policy_dir=tiny_policy_dir,
        prompts=PROMPTS,
        out_dir=tmp_path,
        scorer=lambda prompts, responses: [5.0] * len(responses),
    )
    for record in result.metrics:
        assert record["score_raw"] == pytest.approx(5.0)
        assert record["score"] == pytest.approx(5.0 - 1.5 * (1 - record["eos_rate"]))
    assert any(r["eos_rate"] < 1 for r in result.metrics)  # the random tiny model rarely stops in 3 tokens


def test_penalise_missing_eos_lowers_only_unfinished():
    scores = torch.tensor([0.5, 2.0, -3.0])
    has_eos = torch.tensor([True, False, False])
    assert penalise_missing_eos(scores, has_eos, 1.0).tolist() == [0.5, 1.0, -4.0]
    assert penalise_missing_eos(scores, has_eos, 0.0).tolist() == [0.5, 2.0, -3.0]


def test_reward_model_run_writes_config_metrics_and_usable_policy(tiny_policy_dir, tiny_reward_model_dir, tmp_path):
    config = fast_config(total_episodes=16, batch_size=8, mini_batch_size=4, ppo_epochs=1)
    result = ppo_train(
        config=config,
        policy_dir=tiny_policy_dir,
        reward_model_dir=tiny_reward_model_dir,
        prompts=PROMPTS[:8],
        out_dir=tmp_path / "run",
    )
    assert PPOConfig.load(result.config_path) == config
    lines = result.metrics_path.read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]
    # Value model starts from the reward model, so its first values are the reward model's, not zero.
    assert result.metrics[0]["value_mean"] != 0.0
    model, _tokenizer = load_policy(result.policy_dir, device="cpu")
    original, _ = load_policy(tiny_policy_dir, device="cpu")
    moved = any(not torch.equal(a, b) for a, b in zip(model.parameters(), original.parameters()))
    assert moved
    samples = generate_samples(
        model_dir=result.policy_dir,
        prompts=["a fox"],
        config=SamplingConfig(max_new_tokens=4, batch_size=1),
        device="cpu",
    )
    assert len(samples) == 1


def test_policy_evaluate_reports_score_and_zero_kl_against_itself(tiny_policy_dir, tiny_reward_model_dir):
    report = policy_evaluate(
        policy_dir=tiny_policy_dir,
        reference_dir=tiny_policy_dir,
        prompts=PROMPTS[:6],
        reward_model_dir=tiny_reward_model_dir,
        max_new_tokens=4,
        batch_size=4,
        instruction_template="{text}",
        device="cpu",
    )
    assert report["n"] == 6
    assert report["kl"] == pytest.approx(0.0, abs=1e-5)
    assert math.isfinite(report["score_raw"]) and math.isfinite(report["score"])
    again = policy_evaluate(
        policy_dir=tiny_policy_dir,
        reference_dir=tiny_policy_dir,
        prompts=PROMPTS[:6],
        reward_model_dir=tiny_reward_model_dir,
        max_new_tokens=4,
        batch_size=4,
        instruction_template="{text}",
        device="cpu",
    )
    assert again == report  # seeded


def test_bad_arguments_are_rejected(tiny_policy_dir, tmp_path):
    with pytest.raises(ValueError, match="exactly one of"):
        ppo_train(config=fast_config(), policy_dir=tiny_policy_dir, prompts=PROMPTS, out_dir=tmp_path)
    with pytest.raises(ValueError, match="non-empty"):
        ppo_train(
            config=fast_config(), policy_dir=tiny_policy_dir, prompts=[], out_dir=tmp_path, scorer=e_frequency_score
        )
    with pytest.raises(ValueError, match="must divide"):
        PPOConfig(batch_size=8, mini_batch_size=3)
    with pytest.raises(ValueError, match="kl_estimator"):
        PPOConfig(kl_estimator="k9")
