"""PPO fine-tuning of a policy against a reward model (Huang et al. 2024, "The N+ Implementation Details of RLHF with PPO")."""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the static view of the lazy exports below
    from training.ppo.config import PPOConfig as PPOConfig
    from training.ppo.evaluate import policy_evaluate as policy_evaluate
    from training.ppo.evaluate import responses_evaluate as responses_evaluate
    from training.ppo.rollout import RewardModelScorer as RewardModelScorer
    from training.ppo.rollout import Scorer as Scorer
    from training.ppo.trainer import PPOResult as PPOResult
    from training.ppo.trainer import ppo_train as ppo_train

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


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
