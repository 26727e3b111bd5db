"""Settings of an oracle experiment (several rounds of the loop judged by an oracle), typed once at the edge."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from rounds.config import RoundSettingsError, round_settings_parse
from rounds.experiment.oracle import oracle_spec_check


class ExperimentConfigError(ValueError):
    """A bad experiment setting; the message names it."""


@dataclass
class ExperimentConfig:
    rounds: int = 2
    """Consecutive rounds of the loop; each samples from the previous round's policy."""
    oracle: str = "rouge"
    """`rouge` (ROUGE-L to the human reference, with a length term) or `rm:/folder` (a gold reward model)."""
    model: str = "tiny"
    """The initial policy's model (tiny, smollm2-135m, a folder)."""
    seed: int = 0
    """Seeds the rounds, the simulated labelers and the measurements."""
    labelers: int = 3
    """Simulated labelers (users sim-labeler-<i>)."""
    tau: float = 0.05
    """Bradley–Terry temperature of the labelers: P(A) = σ((g_A − g_B)/τ) on the oracle's scores; 0 = always
    the oracle's side."""
    flip_rates: list[float] = field(default_factory=lambda: [0.1])
    """Probability that a labeler flips its answer: one value for all, or one per labeler."""
    eval_repeats: int = 1
    """Responses per held-out prompt in each measurement (more narrow the win-rate intervals)."""
    best_of_n: int = 4
    """n of the best-of-n baseline measured each round on the round's reward model."""
    bon_kl_samples: int = 4
    """Extra initial-policy samples per held-out prompt that measure best-of-n's KL (0 = analytic only)."""
    round_settings: dict[str, Any] = field(default_factory=dict)
    """Round settings JSON passed to every round (validated); `base_model` and `seed` come from above."""

    def labeler_flip_rates(self) -> list[float]:
        return self.flip_rates * self.labelers if len(self.flip_rates) == 1 else list(self.flip_rates)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ExperimentConfigError(f"{name} must be an integer >= {minimum}.")
    return value


def experiment_config_parse(data: dict[str, Any]) -> ExperimentConfig:
    """Validate every field (ExperimentConfigError naming the field), the oracle spec and the round settings."""
    known = {f.name for f in dataclasses.fields(ExperimentConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ExperimentConfigError(f"Unknown experiment setting(s): {', '.join(unknown)}.")
    config = ExperimentConfig(**data)
    _int("rounds", config.rounds, 1)
    _int("seed", config.seed, 0)
    _int("labelers", config.labelers, 1)
    _int("eval_repeats", config.eval_repeats, 1)
    _int("best_of_n", config.best_of_n, 1)
    _int("bon_kl_samples", config.bon_kl_samples, 0)
    if not isinstance(config.model, str) or not config.model.strip():
        raise ExperimentConfigError("model must be a model name or folder.")
    if isinstance(config.tau, bool) or not isinstance(config.tau, (int, float)) or not 0 <= config.tau < math.inf:
        raise ExperimentConfigError("tau must be a number >= 0.")
    rates = config.flip_rates
    if not rates or any(isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1 for r in rates):
        raise ExperimentConfigError("flip rates must be probabilities in [0, 1].")
    if len(rates) not in (1, config.labelers):
        raise ExperimentConfigError(f"{len(rates)} flip rates for {config.labelers} labelers: give one or one each.")
    try:
        oracle_spec_check(config.oracle)
    except ValueError as exc:
        raise ExperimentConfigError(str(exc)) from exc
    if not isinstance(config.round_settings, dict):
        raise ExperimentConfigError("round settings must be a JSON object.")
    for name in ("base_model", "seed", "policy_id"):
        if name in config.round_settings:
            raise ExperimentConfigError(f"round setting {name} is set by the experiment; leave it out.")
    try:
        parsed = round_settings_parse({**config.round_settings, "base_model": config.model, "seed": config.seed})
    except RoundSettingsError as exc:
        raise ExperimentConfigError(f"round settings: {exc}") from exc
    if parsed.heldout_prompts < 1:
        raise ExperimentConfigError("round settings: heldout_prompts must be >= 1, the experiment measures on them.")
    return config
