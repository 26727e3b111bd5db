"""PPO fine-tuning of a policy against a reward model (Huang et al. 2024, "The N+ Implementation Details of RLHF with PPO")."""

import importlib

# Lazy, so `training.ppo.math` stays importable without loading transformers.
_EXPORTS = {
    "PPOConfig": "training.ppo.config",
    "PPOResult": "training.ppo.trainer",
    "ppo_train": "training.ppo.trainer",
    "policy_evaluate": "training.ppo.evaluate",
    "responses_evaluate": "training.ppo.evaluate",
    "RewardModelScorer": "training.ppo.rollout",
    "Scorer": "training.ppo.rollout",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
