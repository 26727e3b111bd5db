"""The one layer between database rows and the ML engine's dataclasses (rewards/, training/).

Heavy ML imports happen inside functions, so the web process never loads torch just to render a page.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rounds.config import RoundSettings, round_settings_parse
from training import model_files
from training.model_files import named_model_folder

if TYPE_CHECKING:
    from rounds.models import TrainingRound

ProgressFn = Callable[[float, str], None]


def round_settings(training_round: TrainingRound) -> RoundSettings:
    """A round's stored settings JSON with its project's instruction template, as the typed settings."""
    return round_settings_parse(
        training_round.settings, instruction_template=training_round.project.instruction_template
    )


def model_dir(artifact: str) -> Path:
    """A policy's artifact (model name or folder) as a model folder; may build the tiny model or convert SmolLM2."""
    from training.loading import resolve_model

    return Path(resolve_model(artifact)).resolve()


def model_dir_if_ready(artifact: str) -> Path | None:
    """The folder when it exists already, else None; nothing is built, converted or imported from torch, so
    web requests stay fast (a tiny model not built yet is estimated when the sampling phase has built it)."""
    folder = named_model_folder(artifact) or Path(artifact)
    return folder if (folder / "config.json").is_file() else None


def parameter_count(folder: Path) -> int:
    """Parameters of a model folder from its files (safetensors headers, else config.json shapes)."""
    return model_files.parameter_count(folder)


def policy_responses_evaluate(
    *,
    settings: RoundSettings,
    policy: Path,
    references: Sequence[Path],
    reward_model: Path,
    prompts: Sequence[str],
    seed_offset: int,
    progress: ProgressFn | None,
) -> list:
    """One response per prompt from `policy`, evaluated in this process as `python -m training evaluate` does
    (the same config, from evaluation_config), for experiment measurements outside a round's phases."""
    from training.ppo.evaluate import responses_evaluate

    return responses_evaluate(
        policy_dir=policy, reference_dirs=list(references), prompts=list(prompts), reward_model_dir=reward_model,
        progress=progress, **evaluation_config(settings=settings, seed_offset=seed_offset),
    )  # fmt: skip


def prompts_write(path: Path, prompts: Sequence[str]) -> Path:
    """Prompts as the JSONL the engine commands read (`text` per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": p}, ensure_ascii=False) + "\n" for p in prompts), encoding="utf-8")
    return path


def samples_read(path: Path) -> list:
    """The GeneratedSample rows `python -m training sample` wrote."""
    from training.sampling import GeneratedSample

    lines = path.read_text(encoding="utf-8").splitlines()
    return [GeneratedSample(**json.loads(line)) for line in lines if line.strip()]


def preferences_load(path: Path) -> list:
    """TRL preference rows of an export file; an empty or missing split is an empty list."""
    from rewards.data import load_preferences

    if not path.is_file() or not path.read_text(encoding="utf-8").strip():
        return []
    return load_preferences(path)


def preferences_write(path: Path, examples: list) -> Path:
    from rewards.data import save_preferences

    path.parent.mkdir(parents=True, exist_ok=True)
    save_preferences(path, examples)
    return path


def reward_summary_read(out_dir: Path) -> dict[str, Any]:
    """What reward training saved beside the weights (reward_config.json): its result fields and config."""
    from training.loading import REWARD_CONFIG_FILE

    return json.loads((out_dir / REWARD_CONFIG_FILE).read_text(encoding="utf-8"))


def dataclass_dict(value) -> dict[str, Any]:
    """A dataclass (a config or a result) as JSON-ready data (paths as strings)."""
    return json.loads(json.dumps(dataclasses.asdict(value), default=str))


@dataclasses.dataclass(frozen=True)
class PPOOutcome:
    policy_dir: Path
    steps: int
    episodes: int
    metrics: list[dict[str, Any]]
    """Every step's record of metrics.jsonl (steps before a resume included)."""
    prompts_truncated: int


def ppo_result_read(out_dir: Path) -> PPOOutcome:
    """What `python -m training ppo --out out_dir` wrote: result.json and metrics.jsonl."""
    from training.ppo.cli import RESULT_FILENAME

    result = json.loads((out_dir / RESULT_FILENAME).read_text(encoding="utf-8"))
    lines = Path(result["metrics_path"]).read_text(encoding="utf-8").splitlines()
    return PPOOutcome(
        policy_dir=Path(result["policy_dir"]), steps=result["steps"], episodes=result["episodes"],
        metrics=[json.loads(line) for line in lines if line.strip()], prompts_truncated=result["prompts_truncated"],
    )  # fmt: skip


def responses_score(*, reward_model: Path, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
    from rewards.scoring import reward_model_score

    return reward_model_score(model_dir=reward_model, prompts=list(prompts), responses=list(responses))


def evaluation_config(*, settings: RoundSettings, seed_offset: int) -> dict[str, Any]:
    """The EvaluationConfig of `python -m training evaluate` from the round's sampling and PPO settings, so it
    samples and scores as PPO does (exact tokens, the missing-EOS penalty)."""
    from training.ppo.config import EvaluationConfig

    config = EvaluationConfig(
        temperature=settings.ppo.temperature, max_new_tokens=settings.max_new_tokens,
        batch_size=settings.sampling_batch_size, seed=settings.seed + seed_offset,
        missing_eos_penalty=settings.ppo.missing_eos_penalty, instruction_template=settings.instruction_template,
        max_prompt_tokens=settings.ppo.max_prompt_tokens, device=settings.ppo.device,
    )  # fmt: skip
    return dataclass_dict(config)


def evaluated_read(path: Path) -> list:
    """The EvaluatedResponse rows `python -m training evaluate` wrote."""
    from training.ppo.evaluate import EvaluatedResponse

    rows = json.loads(path.read_text(encoding="utf-8"))
    return [EvaluatedResponse(**{**row, "kl": tuple(row["kl"])}) for row in rows]


def evaluation_summary(rows: Sequence, *, reference: int = 0) -> dict[str, Any]:
    from training.ppo.evaluate import evaluation_summary as summary

    return summary(rows, reference=reference)


def reward_scorer(*, reward_model: Path) -> Callable[[list[str], list[str]], list[float]]:
    """(prompts, responses) → rewards from `reward_model`, loaded once (rewards.scoring's normalised scores)."""
    from training.best_of_n import reward_model_scorer

    return reward_model_scorer(reward_model)


def best_of_n_run(
    *,
    settings: RoundSettings,
    policy: Path,
    reward_model: Path,
    prompts: Sequence[str],
    n: int,
    kl_reference_samples: int,
    seed_offset: int,
    progress: ProgressFn | None,
):
    """Best-of-n responses of `policy` ranked by `reward_model`, sampled with the round's sampling settings,
    with the analytic KL and (kl_reference_samples > 0) the measured one (training.best_of_n)."""
    from training.best_of_n import best_of_n_generate, reward_model_scorer

    return best_of_n_generate(
        policy_dir=policy,
        prompts=list(prompts),
        n=n,
        scorer=reward_model_scorer(reward_model),
        sampling=settings.sampling(samples_per_prompt=n, seed_offset=seed_offset),
        kl_reference_samples=kl_reference_samples,
        progress=progress,
    )


def best_of_n_evaluate(
    *,
    settings: RoundSettings,
    policy: Path,
    ranking_model: Path,
    reward_model: Path,
    n: int,
    prompts: Sequence[str],
    seed_offset: int,
    progress: ProgressFn | None,
) -> tuple[list, float, float | None]:
    """(rows, analytic KL, measured KL) of a best-of-n policy on `prompts`, in this process, as
    `python -m training evaluate --best-of-n` computes them (training.ppo.evaluate.best_of_n_evaluate, with the
    config of evaluation_config)."""
    from training.ppo.config import EvaluationConfig
    from training.ppo.evaluate import best_of_n_evaluate as evaluate

    config = EvaluationConfig(**evaluation_config(settings=settings, seed_offset=seed_offset))
    result = evaluate(
        policy_dir=policy, ranking_model_dir=ranking_model, reward_model_dir=reward_model, n=n, prompts=list(prompts),
        config=config, progress=progress,
    )  # fmt: skip
    return result.rows, result.analytic_kl, result.measured_kl


def best_of_n_analytic_kl(n: int) -> float:
    from training.best_of_n import best_of_n_analytic_kl as analytic

    return analytic(n)
