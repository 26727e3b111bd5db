"""Settings of a training round, validated from JSON (API, form, command) into one typed dataclass."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PAIR_KINDS = ("current_vs_initial", "current_vs_reference", "current_vs_current")


class RoundSettingsError(ValueError):
    """Bad round settings; the message names the field."""


@dataclass
class RoundSettings:
    base_model: str = "tiny"
    """Model folder or name (tiny, smollm2-135m, a local folder) of the project's initial policy, used when
    the project has no initial policy with an artifact yet."""
    policy_id: int | None = None
    """Policy sampled as "current"; None = the previous round's new policy, else the initial policy."""
    num_prompts: int = 16
    """Prompts of the round's batch (taken from the project's prompts outside the held-out set)."""
    samples_per_prompt: int = 2
    """Samples of the current policy per prompt (current-vs-current pairs need at least 2)."""
    pair_mix: dict[str, float] = field(
        default_factory=lambda: {"current_vs_initial": 0.5, "current_vs_reference": 0.25, "current_vs_current": 0.25}
    )
    """Relative weights of the pair kinds (Stiennon et al. 2020 mix current, initial and reference outputs)."""
    pairs_per_prompt: int = 1
    """Pairs built per prompt of the batch."""
    comparisons_target: int = 0
    """Labeling ends at this many comparisons on the round's pairs; 0 = pairs × project overlap."""
    cumulative: bool = True
    """Train the reward model on earlier rounds' comparisons too (as in the paper)."""
    heldout_prompts: int = 4
    """Project prompts (the last ones) kept out of sampling and PPO, for evaluation."""
    eval_pairs: int = 4
    """New-vs-previous policy pairs queued for labelers at evaluation (win rate)."""
    rm_heldout_fraction: float = 0.2
    """Share of preference prompts held out to measure reward-model accuracy."""
    ppo_init: str = "initial"
    """Start PPO from the initial (SFT) policy as in the paper, or from the current one."""
    max_new_tokens: int = 48
    """Response length cap for sampling and evaluation."""
    temperature: float = 0.7
    """Sampling temperature (N+ details, Huang et al. 2024)."""
    sampling_batch_size: int = 8
    """Rows per generation batch."""
    seed: int = 0
    """Seeds sampling, pair mixing and training."""
    reward: dict[str, Any] = field(default_factory=dict)
    """Overrides of the reward model's RewardConfig."""
    ppo: dict[str, Any] = field(default_factory=dict)
    """Overrides of PPOConfig."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_INT_MIN = {
    "num_prompts": 1,
    "samples_per_prompt": 1,
    "pairs_per_prompt": 1,
    "comparisons_target": 0,
    "heldout_prompts": 0,
    "eval_pairs": 0,
    "max_new_tokens": 1,
    "sampling_batch_size": 1,
    "seed": 0,
}


def _check_pair_mix(mix: Any) -> dict[str, float]:
    if not isinstance(mix, dict) or not mix:
        raise RoundSettingsError(f"pair_mix must be an object with weights for {', '.join(PAIR_KINDS)}.")
    unknown = sorted(set(mix) - set(PAIR_KINDS))
    if unknown:
        raise RoundSettingsError(f"pair_mix: unknown kind(s) {', '.join(unknown)}; use {', '.join(PAIR_KINDS)}.")
    for kind, weight in mix.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise RoundSettingsError(f"pair_mix.{kind} must be a number >= 0.")
    if sum(mix.values()) <= 0:
        raise RoundSettingsError("pair_mix: at least one weight must be positive.")
    return {kind: float(weight) for kind, weight in mix.items()}


def round_settings_parse(data: dict[str, Any] | None) -> RoundSettings:
    """JSON → RoundSettings; every bad field raises RoundSettingsError naming it. RM/PPO dicts are
    checked against the ML config dataclasses by rounds.ml_bridge."""
    data = dict(data or {})
    known = {f.name for f in dataclasses.fields(RoundSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RoundSettingsError(f"Unknown round setting(s): {', '.join(unknown)}.")
    for name, minimum in _INT_MIN.items():
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise RoundSettingsError(f"{name} must be an integer >= {minimum}.")
    if "policy_id" in data and data["policy_id"] is not None and not isinstance(data["policy_id"], int):
        raise RoundSettingsError("policy_id must be an integer or null.")
    if "base_model" in data and (not isinstance(data["base_model"], str) or not data["base_model"].strip()):
        raise RoundSettingsError("base_model must be a model name or folder.")
    if "pair_mix" in data:
        data["pair_mix"] = _check_pair_mix(data["pair_mix"])
    if "cumulative" in data and not isinstance(data["cumulative"], bool):
        raise RoundSettingsError("cumulative must be true or false.")
    if "ppo_init" in data and data["ppo_init"] not in ("initial", "current"):
        raise RoundSettingsError("ppo_init must be 'initial' or 'current'.")
    for name, low, high in (("rm_heldout_fraction", 0.0, 0.9), ("temperature", 0.0, 10.0)):
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise RoundSettingsError(f"{name} must be a number in [{low}, {high}].")
    for name in ("reward", "ppo"):
        if name in data and not isinstance(data[name], dict):
            raise RoundSettingsError(f"{name} must be an object of config overrides.")
    return RoundSettings(**data)
