import random

import pytest

from rewards.data import PreferenceExample
from training.loading import build_tiny_model

GOOD = ["fox", "lion", "wolf", "bear", "eagle"]
BAD = ["ass", "mouse", "crow", "frog", "ant"]


def synthetic_preferences(n: int, seed: int) -> list[PreferenceExample]:
    """Trivially learnable: chosen responses use one word set, rejected ones another."""
    rng = random.Random(seed)

    def words(pool, low, high):
        return " ".join(rng.choice(pool) for _ in range(rng.randint(low, high)))

    return [PreferenceExample(words(GOOD + BAD, 3, 12), words(GOOD, 2, 6), words(BAD, 2, 6)) for _ in range(n)]


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("rm-base") / "llama")


@pytest.fixture(scope="session")
def trained_reward_model(tiny_base, tmp_path_factory):
    from rewards.config import RewardConfig
    from rewards.train import reward_model_train

    calls = []
    result = reward_model_train(
        config=RewardConfig(max_length=48, learning_rate=3e-3, batch_size=16, num_epochs=2, logging_steps=2),
        train=synthetic_preferences(192, seed=0),
        eval=synthetic_preferences(64, seed=1),
        base_model_dir=tiny_base,
        out_dir=tmp_path_factory.mktemp("rm") / "model",
        progress=lambda fraction, message: calls.append((fraction, message)),
    )
    return result, calls
