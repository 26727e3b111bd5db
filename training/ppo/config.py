"""PPOConfig: every knob of a PPO run, saved as JSON beside the run's artifacts."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.defaults import DEFAULT_INSTRUCTION_TEMPLATE, DEFAULT_MAX_NEW_TOKENS
from training.lora import LORA_DEFAULT_TARGETS, LoraSettings

CONFIG_FILENAME = "ppo_config.json"
KL_ESTIMATORS = ("k1", "k2", "k3")


@dataclass
class PPOConfig:
    """Defaults follow Huang et al. 2024, "The N+ Implementation Details of RLHF with PPO"."""

    seed: int = 0
    """Seeds prompt order, sampling and minibatch shuffling; a run is reproducible from it."""
    total_episodes: int | None = None
    """Responses to sample and learn from in total; None means one pass over the prompts."""
    batch_size: int = 8
    """Prompts (one response each) rolled out per PPO step."""
    mini_batch_size: int = 8
    """Rollouts per gradient step; must divide batch_size."""
    ppo_epochs: int = 4
    """Optimisation passes over each batch of rollouts (N+: 4)."""
    learning_rate: float = 3e-6
    """AdamW learning rate for policy and value model (N+: 3e-6 for 1B models)."""
    anneal_lr: bool = True
    """Decay the learning rate linearly to 0 over the run (N+)."""
    adam_eps: float = 1e-5
    """Adam epsilon (N+: 1e-5 rather than PyTorch's 1e-8)."""
    max_grad_norm: float = 1.0
    """Clip the global gradient norm to this value; 0 disables clipping."""
    kl_coef: float = 0.05
    """Weight of the per-token KL penalty to the reference policy (N+: 0.05)."""
    kl_estimator: str = "k1"
    """Per-token KL estimator in the reward: k1 = log(pi/pi_ref) (N+), k2 or k3 (Schulman 2020)."""
    gamma: float = 1.0
    """Discount factor of GAE (N+: 1)."""
    lam: float = 0.95
    """GAE lambda (N+: 0.95)."""
    clip_range: float = 0.2
    """PPO ratio clipping epsilon for the policy loss."""
    clip_range_value: float = 0.2
    """Clipping range of value predictions around their rollout values."""
    vf_coef: float = 0.1
    """Weight of the value loss in the joint loss (N+: 0.1)."""
    whiten_rewards: bool = False
    """Whiten per-token rewards before GAE (N+ leaves this off for TL;DR)."""
    temperature: float = 0.7
    """Sampling temperature; logits are divided by it for every log-prob too (N+: 0.7)."""
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    """Response length cap in tokens (N+ uses 53 for TL;DR summaries)."""
    missing_eos_penalty: float = 1.0
    """Subtracted from the score of responses that hit max_new_tokens without EOS; 0 disables (N+ details).

    Subtracted rather than replacing the score with a constant: with rewards normalised to 0 on
    reference outputs, typical samples score below -1, so a fixed -1 would reward never stopping."""
    max_prompt_tokens: int = 512
    """Formatted prompts longer than this (or than the model context minus max_new_tokens) keep only their last tokens."""
    instruction_template: str = DEFAULT_INSTRUCTION_TEMPLATE
    """User message built from each prompt; `{text}` is replaced by the prompt text."""
    save_every: int = 10
    """Write a resumable checkpoint every this many steps (and at the end); 0 only at the end."""
    device: str | None = None
    """torch device, e.g. cuda or cpu; None picks CUDA when available (each rank's own GPU when launched)."""
    lora_r: int = 0
    """LoRA rank for the policy and the value model; 0 means full fine-tuning. With LoRA the reference
    is the base with adapters disabled (held once) and the final policy is merged."""
    lora_alpha: float | None = None
    """LoRA scale numerator; None means 2 * lora_r."""
    lora_dropout: float = 0.0
    """Dropout on LoRA inputs; 0 because PPO ratios assume rollout and update see one function."""
    lora_target_modules: str = LORA_DEFAULT_TARGETS
    """Comma-separated module names to adapt (e.g. q_proj,v_proj), or all-linear."""
    gradient_checkpointing: bool = False
    """Recompute policy and value activations in backward: less memory, about 30% more compute."""

    def __post_init__(self) -> None:
        positive = ("batch_size", "mini_batch_size", "ppo_epochs", "max_new_tokens", "max_prompt_tokens")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size % self.mini_batch_size:
            raise ValueError(f"mini_batch_size ({self.mini_batch_size}) must divide batch_size ({self.batch_size})")
        if self.total_episodes is not None and self.total_episodes < 1:
            raise ValueError("total_episodes must be >= 1 (or None for one pass over the prompts)")
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0: PPO samples, and log-probs divide logits by it")
        if self.kl_estimator not in KL_ESTIMATORS:
            raise ValueError(f"kl_estimator must be one of {KL_ESTIMATORS}, got {self.kl_estimator!r}")
        if not 0 <= self.gamma <= 1 or not 0 <= self.lam <= 1:
            raise ValueError("gamma and lam must lie in [0, 1]")
        for name in ("learning_rate", "clip_range", "clip_range_value"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("kl_coef", "vf_coef", "max_grad_norm", "save_every", "missing_eos_penalty"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if "{text}" not in self.instruction_template:
            raise ValueError("instruction_template must contain the placeholder {text}")
        _ = self.lora  # validates the LoRA fields

    @property
    def lora(self) -> LoraSettings:
        return LoraSettings(self.lora_r, self.lora_alpha, self.lora_dropout, self.lora_target_modules)

    def num_steps(self, num_prompts: int) -> int:
        """PPO steps in the run: total episodes (default one pass over the prompts) over batch size."""
        episodes = self.total_episodes if self.total_episodes is not None else num_prompts
        return max(1, -(-episodes // self.batch_size))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, out_dir: Path) -> Path:
        path = Path(out_dir) / CONFIG_FILENAME
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> PPOConfig:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown PPOConfig fields {unknown}")
        return cls(**data)


@dataclass
class EvaluationConfig:
    """How `python -m training evaluate` samples and scores held-out responses (training.ppo.evaluate); a
    round fills it from its sampling and PPO settings, so evaluation samples as PPO does."""

    temperature: float = 0.7
    """Sampling temperature (pure temperature sampling, as PPO)."""
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    """Response length cap in tokens."""
    batch_size: int = 8
    """Prompts per generation batch."""
    seed: int = 0
    """Seeds sampling."""
    missing_eos_penalty: float = 1.0
    """Subtracted from the score of responses without EOS, as in PPO."""
    instruction_template: str = DEFAULT_INSTRUCTION_TEMPLATE
    """User message built from each prompt; `{text}` is replaced by the prompt text."""
    max_prompt_tokens: int = 512
    """Formatted prompts longer than this keep only their last tokens."""
    device: str | None = None
    """torch device; None picks CUDA when available."""

    def __post_init__(self) -> None:
        if self.temperature <= 0 or self.batch_size < 1 or self.max_new_tokens < 1 or self.max_prompt_tokens < 1:
            raise ValueError("temperature must be > 0; batch_size, max_new_tokens and max_prompt_tokens >= 1")
        if "{text}" not in self.instruction_template:
            raise ValueError("instruction_template must contain the placeholder {text}")
