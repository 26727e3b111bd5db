"""Shared fixtures for the PPO tests: a tiny policy, a tiny reward model, a dense synthetic reward."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from training.loading import build_tiny_model
from training.ppo.config import PPOConfig

PROMPTS = [f"the fox and the crow, story number {i}" for i in range(32)]


def e_frequency_score(prompts: list[str], responses: list[str]) -> list[float]:
    """Synthetic reward: 10 x the share of characters that are 'e' (dense enough to learn in a few steps)."""
    return [10.0 * sum(c == "e" for c in text) / max(len(text), 1) for text in responses]


def fast_config(**overrides) -> PPOConfig:
    """Tiny-model settings: short prompts and responses, a high learning rate, no EOS penalty."""
    values = dict(
        batch_size=32,
        mini_batch_size=16,
        ppo_epochs=4,
        learning_rate=2e-3,
        anneal_lr=False,
        max_new_tokens=8,
        instruction_template="{text}",
        missing_eos_penalty=0.0,
        save_every=0,
        device="cpu",
    )
    values.update(overrides)
    return PPOConfig(**values)


@pytest.fixture(scope="session")
def tiny_policy_dir(tmp_path_factory) -> Iterator[Path]:
    # One thread: the tiny model's matmuls are too small to share, and spinning threads stall on a busy CPU.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield build_tiny_model(tmp_path_factory.mktemp("ppo") / "policy")
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_reward_model_dir(tiny_policy_dir, tmp_path_factory) -> Path:
    """A reward model from the policy backbone with a random scalar head (as the reward trainer starts)."""
    out = tmp_path_factory.mktemp("ppo") / "reward_model"
    torch.manual_seed(1)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_policy_dir, num_labels=1)
    torch.nn.init.normal_(model.score.weight, std=0.5)
    model.save_pretrained(out)
    return out
