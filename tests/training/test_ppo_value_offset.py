"""Issue 16 §0: values start on the scale of the normalised scores, so initial advantages are centred."""

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from tests.training.ppo_fixtures import PROMPTS, fast_config, tiny_policy_dir  # noqa: F401
from training.ppo import ppo_train

BIAS = 2.4


@pytest.fixture(scope="module")
def offset_reward_model_dir(tiny_policy_dir, tmp_path_factory):
    """A reward model whose raw head is 0 and whose stored offset is +2.4: every score is exactly 2.4."""
    out = tmp_path_factory.mktemp("offset") / "reward_model"
    model = AutoModelForSequenceClassification.from_pretrained(tiny_policy_dir, num_labels=1)
    torch.nn.init.zeros_(model.score.weight)
    model.config.reward_bias = BIAS
    model.save_pretrained(out)
    return out


def test_untrained_policy_starts_with_centred_advantages(tiny_policy_dir, offset_reward_model_dir, tmp_path):
    # One step, before any update: policy == reference (KL 0), values == scores == 2.4, so every
    # advantage is 0. Without the offset on the values they would all be 2.4 * lam^(T - t) > 0.
    config = fast_config(total_episodes=8, batch_size=8, mini_batch_size=8, ppo_epochs=1, kl_coef=0.05)
    result = ppo_train(
        config=config,
        policy_dir=tiny_policy_dir,
        reward_model_dir=offset_reward_model_dir,
        prompts=PROMPTS[:8],
        out_dir=tmp_path,
    )
    first = result.metrics[0]
    assert first["score"] == pytest.approx(BIAS, abs=1e-5)
    assert first["value_mean"] == pytest.approx(BIAS, abs=1e-5)
    assert first["kl"] == pytest.approx(0.0, abs=1e-4)
    assert first["advantage_raw_mean"] == pytest.approx(0.0, abs=1e-4)
