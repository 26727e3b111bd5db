"""Settings of a training round, validated from JSON (API, form, command) into one typed dataclass whose
reward and PPO parts are the ML engine's own config dataclasses (they import no torch)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewards.config import RewardConfig
from rewards.selection import PAIR_SELECTIONS
from training.defaults import DEFAULT_INSTRUCTION_TEMPLATE, DEFAULT_MAX_NEW_TOKENS
from training.ppo.config import PPOConfig

if TYPE_CHECKING:
    from training.sampling import SamplingConfig

PAIR_KINDS = ("current_vs_initial", "current_vs_reference", "current_vs_current")
OPTIMIZERS = ("ppo", "best_of_n")


class RoundSettingsError(ValueError):
    """Bad round settings; the message names the field."""


@dataclass
class RoundSettings:
    base_model: str | None = None
    """Model folder or name (tiny, smollm2-135m, a local folder) of the project's initial policy; None = the
    project's initial policy, or `tiny` for its first round. A project that has an initial policy refuses another."""
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
    """Start PPO from the initial (SFT) policy as in the paper, or from the current one (best-of-n too)."""
    optimizer: str = "ppo"
    """How the round makes its new policy: `ppo`, or `best_of_n` (no training: the new policy samples n
    responses from the start policy and keeps the one the round's reward model ranks highest)."""
    best_of_n: int = 4
    """n of the `best_of_n` optimizer."""
    pair_selection: str = "random"
    """Which candidate pairs are queued: `random`, or `uncertainty` (those the previous round's reward model
    gives P(A≻B) nearest 0.5; a first round has no reward model and falls back to random)."""
    uncertainty_explore: float = 0.1
    """Share of the queued pairs drawn at random under `uncertainty` selection."""
    uncertainty_candidates: int = 4
    """Candidate pairs considered per queued pair under `uncertainty` selection."""
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    """Response length cap for sampling, PPO (unless `ppo` overrides it) and evaluation."""
    temperature: float = 0.7
    """Sampling temperature (N+ details, Huang et al. 2024)."""
    sampling_batch_size: int = 8
    """Rows per generation batch."""
    seed: int = 0
    """Seeds sampling, pair mixing and training."""
    train_processes: int | None = None
    """Local processes (one per GPU) for reward training and PPO; None = the worker's ARBITER_TRAIN_PROCESSES.
    Sampling and evaluation run in one process."""
    accelerate_config: str | None = None
    """An `accelerate config` file that describes the training launch in full (processes, machines, FSDP);
    None = the worker's ARBITER_ACCELERATE_CONFIG."""
    reward: RewardConfig = field(default_factory=RewardConfig)
    """The reward model's training config; as JSON, only the fields that differ from the round's defaults."""
    ppo: PPOConfig = field(default_factory=PPOConfig)
    """The PPO config; as JSON, only the fields that differ from the round's defaults."""
    instruction_template: str = DEFAULT_INSTRUCTION_TEMPLATE
    """The project's instruction template (not a round setting): sampling, reward model, PPO and evaluation
    all format prompts with it."""

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON, as users write them: `reward` and `ppo` hold only their overrides."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del data["instruction_template"]
        data["pair_mix"] = dict(self.pair_mix)
        reward_defaults, ppo_defaults = _implied_defaults(self)
        data["reward"] = _overrides(self.reward, reward_defaults)
        data["ppo"] = _overrides(self.ppo, ppo_defaults)
        return data

    def sampling(self, *, samples_per_prompt: int, seed_offset: int = 0) -> SamplingConfig:
        """The sampling config of one generation pass of the round (imports torch)."""
        from training.sampling import SamplingConfig

        try:
            return SamplingConfig(
                temperature=self.temperature,
                max_new_tokens=self.max_new_tokens,
                batch_size=self.sampling_batch_size,
                seed=self.seed + seed_offset,
                samples_per_prompt=samples_per_prompt,
                instruction_template=self.instruction_template,
            )
        except ValueError as exc:
            raise RoundSettingsError(f"sampling: {exc}") from exc


def _implied_defaults(settings: RoundSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reward and PPO config values that the round-level settings imply (before overrides)."""
    reward = {"seed": settings.seed, "instruction_template": settings.instruction_template}
    ppo = {
        "seed": settings.seed,
        "max_new_tokens": settings.max_new_tokens,
        "temperature": max(settings.temperature, 1e-3),  # PPO samples; 0 (greedy) is not a PPO temperature
        "instruction_template": settings.instruction_template,
    }
    return reward, ppo


def _overrides(config: RewardConfig | PPOConfig, implied: dict[str, Any]) -> dict[str, Any]:
    baseline = dataclasses.asdict(type(config)(**implied))
    return {k: v for k, v in dataclasses.asdict(config).items() if v != baseline[k]}


def _ml_config(cls: type, overrides: dict[str, Any], implied: dict[str, Any], label: str) -> Any:
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise RoundSettingsError(f"{label}: unknown field(s) {', '.join(unknown)}.")
    if "instruction_template" in overrides:
        raise RoundSettingsError(f"{label}.instruction_template comes from the project; set it there.")
    try:
        return cls(**{**implied, **overrides})
    except (TypeError, ValueError) as exc:
        raise RoundSettingsError(f"{label}: {exc}") from exc


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
    "best_of_n": 1,
    "uncertainty_candidates": 1,
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


def round_settings_parse(
    data: dict[str, Any] | None, *, instruction_template: str = DEFAULT_INSTRUCTION_TEMPLATE
) -> RoundSettings:
    """JSON → RoundSettings, with the project's `instruction_template`; every bad field raises
    RoundSettingsError naming it. `reward` and `ppo` become RewardConfig and PPOConfig here."""
    data = dict(data or {})
    known = {f.name for f in dataclasses.fields(RoundSettings)} - {"instruction_template"}
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
    base_model = data.get("base_model")
    if base_model is not None and (not isinstance(base_model, str) or not base_model.strip()):
        raise RoundSettingsError("base_model must be a model name or folder (or null).")
    if "pair_mix" in data:
        data["pair_mix"] = _check_pair_mix(data["pair_mix"])
    processes = data.get("train_processes")
    if processes is not None and (isinstance(processes, bool) or not isinstance(processes, int) or processes < 1):
        raise RoundSettingsError("train_processes must be an integer >= 1 (or null for the worker's setting).")
    accelerate_config = data.get("accelerate_config")
    if accelerate_config is not None and (
        not isinstance(accelerate_config, str) or not Path(accelerate_config).is_file()
    ):
        raise RoundSettingsError(f"accelerate_config: no file {accelerate_config!r} (or null for the worker's).")
    if "cumulative" in data and not isinstance(data["cumulative"], bool):
        raise RoundSettingsError("cumulative must be true or false.")
    if "ppo_init" in data and data["ppo_init"] not in ("initial", "current"):
        raise RoundSettingsError("ppo_init must be 'initial' or 'current'.")
    for name, allowed in (("optimizer", OPTIMIZERS), ("pair_selection", PAIR_SELECTIONS)):
        if name in data and data[name] not in allowed:
            raise RoundSettingsError(f"{name} must be one of {', '.join(allowed)}.")
    bounds = (("rm_heldout_fraction", 0.0, 0.9), ("temperature", 0.0, 10.0), ("uncertainty_explore", 0.0, 1.0))
    for name, low, high in bounds:
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise RoundSettingsError(f"{name} must be a number in [{low}, {high}].")
    for name in ("reward", "ppo"):
        if name in data and not isinstance(data[name], dict):
            raise RoundSettingsError(f"{name} must be an object of config overrides.")
    reward_overrides, ppo_overrides = data.pop("reward", {}), data.pop("ppo", {})
    settings = RoundSettings(**data, instruction_template=instruction_template)
    reward_implied, ppo_implied = _implied_defaults(settings)
    settings.reward = _ml_config(RewardConfig, reward_overrides, reward_implied, "reward")
    settings.ppo = _ml_config(PPOConfig, ppo_overrides, ppo_implied, "ppo")
    return settings
