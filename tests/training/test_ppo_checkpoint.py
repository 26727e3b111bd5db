"""Checkpoint and resume: an interrupted run continues the same run and ends where an uninterrupted one does."""

import json

import pytest
import torch
from safetensors.torch import load_file

from tests.training.ppo_fixtures import PROMPTS, e_frequency_score, fast_config, tiny_policy_dir  # noqa: F401
from training.ppo import ppo_train
from training.ppo.checkpoint import checkpoint_load

DETERMINISTIC_KEYS = ("score", "kl", "entropy", "policy_loss", "value_loss", "approx_kl", "response_length")


class Cancelled(Exception):
    pass


def _cancel_before_step(number):
    def progress(fraction, message):
        if message.startswith(f"step {number}/"):
            raise Cancelled(message)

    return progress


def test_resume_after_cancel_matches_uninterrupted_run(tiny_policy_dir, tmp_path):
    config = fast_config(
        total_episodes=16 * 5, batch_size=16, mini_batch_size=8, ppo_epochs=2, save_every=2, anneal_lr=True
    )
    common = dict(config=config, policy_dir=tiny_policy_dir, prompts=PROMPTS[:24], scorer=e_frequency_score)
    straight = ppo_train(out_dir=tmp_path / "straight", **common)

    interrupted = tmp_path / "interrupted"
    with pytest.raises(Cancelled):
        ppo_train(out_dir=interrupted, progress=_cancel_before_step(4), **common)
    # Steps 1-3 ran; the checkpoint holds step 2, so step 3 is redone on resume.
    assert checkpoint_load(interrupted).step == 2
    assert len((interrupted / "metrics.jsonl").read_text().splitlines()) == 3
    calls = []
    resumed = ppo_train(out_dir=interrupted, progress=lambda f, m: calls.append(m), **common)

    assert calls[0].startswith("step 3/5")
    assert [r["step"] for r in resumed.metrics] == [1, 2, 3, 4, 5]
    lines = [json.loads(line) for line in (interrupted / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4, 5]
    for a, b in zip(straight.metrics, resumed.metrics, strict=True):
        for key in DETERMINISTIC_KEYS:
            assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), (a["step"], key)
    weights_a = load_file(straight.policy_dir / "model.safetensors")
    weights_b = load_file(resumed.policy_dir / "model.safetensors")
    assert weights_a.keys() == weights_b.keys()
    for name in weights_a:
        torch.testing.assert_close(weights_b[name], weights_a[name], rtol=1e-5, atol=1e-6)


def test_resume_refuses_a_different_run_and_restart_is_explicit(tiny_policy_dir, tmp_path):
    config = fast_config(total_episodes=16, batch_size=16, mini_batch_size=16, ppo_epochs=1)
    ppo_train(config=config, policy_dir=tiny_policy_dir, prompts=PROMPTS, out_dir=tmp_path, scorer=e_frequency_score)
    other = fast_config(total_episodes=16, batch_size=16, mini_batch_size=16, ppo_epochs=1, kl_coef=0.2)
    with pytest.raises(ValueError, match="different run"):
        ppo_train(config=other, policy_dir=tiny_policy_dir, prompts=PROMPTS, out_dir=tmp_path, scorer=e_frequency_score)
    fresh = ppo_train(
        config=other,
        policy_dir=tiny_policy_dir,
        prompts=PROMPTS,
        out_dir=tmp_path,
        scorer=e_frequency_score,
        resume=False,
    )
    assert [r["step"] for r in fresh.metrics] == [1]
    assert checkpoint_load(tmp_path).fingerprint["config"]["kl_coef"] == 0.2


def test_finished_run_resumes_to_the_same_result(tiny_policy_dir, tmp_path):
    config = fast_config(total_episodes=16, batch_size=16, mini_batch_size=16, ppo_epochs=1)
    common = dict(
        config=config, policy_dir=tiny_policy_dir, prompts=PROMPTS, out_dir=tmp_path, scorer=e_frequency_score
    )
    first = ppo_train(**common)
    again = ppo_train(**common)
    assert again.metrics == first.metrics
