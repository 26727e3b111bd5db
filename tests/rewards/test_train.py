import json

import numpy as np
import pytest

from rewards.config import RewardConfig
from rewards.data import PreferenceExample
from rewards.scoring import REWARD_CONFIG_FILE, reward_model_evaluate, reward_model_score
from rewards.train import reward_model_train

from .conftest import synthetic_preferences


def test_loss_falls_and_accuracy_beats_chance(trained_reward_model):
    result, _ = trained_reward_model
    assert result.loss_history[-1] < 0.5 * result.loss_history[0]
    assert result.metrics["n"] == 64
    assert result.metrics["ci95"][0] > 0.5  # the whole interval lies above chance
    assert result.metrics["accuracy"] > 0.8


def test_saved_folder_scores_like_training(trained_reward_model):
    result, _ = trained_reward_model
    saved = json.loads((result.out_dir / REWARD_CONFIG_FILE).read_text())
    assert saved["data_hash"] == result.data_hash and saved["config"]["max_length"] == 48
    examples = synthetic_preferences(64, seed=1)
    metrics = reward_model_evaluate(model_dir=result.out_dir, examples=examples)
    assert metrics["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert metrics["n"] == 64


def test_reward_is_zero_mean_on_reference(trained_reward_model):
    result, _ = trained_reward_model
    train = synthetic_preferences(192, seed=0)
    # All 192 chosen responses (the default reference is a 256-cap sample, i.e. all of them).
    scores = reward_model_score(
        model_dir=result.out_dir, prompts=[e.prompt for e in train], responses=[e.chosen for e in train], batch_size=32
    )
    assert abs(np.mean(scores)) < 1e-3 * max(1.0, np.std(scores))
    assert result.extra["reference_raw_mean"] != 0  # the offset did something


def test_progress_is_reported_and_can_cancel(trained_reward_model, tiny_base, tmp_path):
    _, calls = trained_reward_model
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 5

    class Cancelled(Exception):
        pass

    def cancel(fraction, message):
        if fraction > 0:
            raise Cancelled

    with pytest.raises(Cancelled):
        reward_model_train(
            config=RewardConfig(max_length=32, instruction_template="{text}"),
            train=synthetic_preferences(64, 0),
            eval=[],
            base_model_dir=tiny_base,
            out_dir=tmp_path / "cancelled",
            progress=cancel,
        )
    assert not (tmp_path / "cancelled" / REWARD_CONFIG_FILE).exists()


def test_long_prompts_are_truncated_from_the_left_and_counted(tiny_base, tmp_path):
    long_prompt = "word " * 200
    train = [PreferenceExample(long_prompt, "fox", "ass")] + [PreferenceExample("fox", "lion", "crow")] * 7
    result = reward_model_train(
        config=RewardConfig(max_length=32, max_steps=1, batch_size=8, instruction_template="{text}"),
        train=train,
        eval=[PreferenceExample(long_prompt, "lion", "crow")],
        base_model_dir=tiny_base,
        out_dir=tmp_path / "rm",
    )
    assert result.extra["train_prompts_truncated"] == 1
    assert result.prompts_truncated == 2
    assert result.extra["eval_prompts_truncated"] == 1
    assert result.extra["train_pairs"] == 8  # nothing was dropped
