"""`python -m training ppo`: parse options into a PPOConfig, run ppo_train with a progress bar, print a summary;
`python -m training evaluate`: one response per held-out prompt, scored and compared to reference policies."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from training.cli_args import add_dataclass_arguments, dataclass_from_args
from training.commands import (
    Subcommand,
    add_best_of_n_arguments,
    add_progress_argument,
    best_of_n_arguments_check,
    progress_reporter,
    read_prompts,
)

RESULT_FILENAME = "result.json"
"""What a PPO run wrote, beside its metrics.jsonl: policy folder, steps, episodes, prompts cut."""


def _configure(parser: argparse.ArgumentParser) -> None:
    from training.ppo.config import PPOConfig

    parser.add_argument("--policy", required=True, help="initial policy: tiny, smollm2-135m or a model folder")
    parser.add_argument("--reward-model", required=True, type=Path, help="reward model folder (sequence classifier)")
    parser.add_argument("--prompts", required=True, type=Path, help="JSONL of prompts (text/prompt field)")
    parser.add_argument("--out", required=True, type=Path, help="run folder: config, metrics, checkpoint, policy/")
    parser.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue from the checkpoint in --out when there is one (default: yes)",
    )
    add_progress_argument(parser)
    add_dataclass_arguments(parser, PPOConfig)


def _run(args: argparse.Namespace) -> int:
    from training.distributed import process_group
    from training.loading import resolve_model
    from training.ppo.config import PPOConfig
    from training.ppo.trainer import ppo_train

    config = dataclass_from_args(PPOConfig, args)
    if not (args.reward_model / "config.json").is_file():
        raise FileNotFoundError(f"{args.reward_model}: not a model folder (no config.json)")
    prompts = read_prompts(args.prompts)
    # Under `accelerate launch` every process runs this; one builds a cached model and prints.
    group = process_group(config.device)
    with group.main_first():
        policy_dir = resolve_model(args.policy)
    progress, close = progress_reporter(args, "ppo", enabled=group.is_main)
    result = ppo_train(
        config=config,
        policy_dir=policy_dir,
        reward_model_dir=args.reward_model,
        prompts=prompts,
        out_dir=args.out,
        progress=progress,
        resume=args.resume,
    )
    close()
    if not group.is_main:
        return 0
    # Counted over every step in metrics.jsonl, so a resumed run reports the steps before the resume too.
    truncated = sum(int(m.get("prompts_truncated", 0)) for m in result.metrics)
    (args.out / RESULT_FILENAME).write_text(
        json.dumps({
            "policy_dir": str(result.policy_dir), "steps": result.steps, "episodes": result.episodes,
            "metrics_path": str(result.metrics_path), "prompts_truncated": truncated,
        }, indent=2) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    last = result.metrics[-1]
    summary = {
        "policy": str(result.policy_dir),
        "steps": result.steps,
        "episodes": result.episodes,
        "metrics": str(result.metrics_path),
        **{key: last[key] for key in ("score", "kl", "entropy", "eos_rate", "response_length")},
    }
    print(json.dumps(summary, indent=2), file=sys.stderr if args.progress == "json" else sys.stdout)
    if truncated:
        print(f"note: {truncated} prompts were cut to --max-prompt-tokens", file=sys.stderr)
    return 0


def _configure_evaluate(parser: argparse.ArgumentParser) -> None:
    from training.ppo.config import EvaluationConfig

    parser.add_argument("--policy", required=True, help="policy to evaluate: tiny, smollm2-135m or a model folder")
    parser.add_argument(
        "--reference", action="append", default=[], help="reference policy to measure KL against (repeatable)"
    )
    parser.add_argument("--reward-model", required=True, type=Path, help="reward model folder that scores responses")
    parser.add_argument("--prompts", required=True, type=Path, help="JSONL of prompts (text/prompt field)")
    parser.add_argument("--out", required=True, type=Path, help="JSON file to write the evaluated responses to")
    # A best-of-n policy has no per-token KL: the summary gives its analytic KL and one measured from N more samples.
    add_best_of_n_arguments(parser, what="evaluate", base="--policy")
    parser.add_argument(
        "--summary", type=Path, help="also write the summary (means; with --best-of-n its KLs) to this JSON file"
    )
    add_progress_argument(parser)
    add_dataclass_arguments(parser, EvaluationConfig)


def _run_evaluate(args: argparse.Namespace) -> int:
    from training.loading import resolve_model
    from training.ppo.config import EvaluationConfig
    from training.ppo.evaluate import best_of_n_evaluate, evaluation_summary, responses_evaluate

    config = dataclass_from_args(EvaluationConfig, args)
    best_of_n_arguments_check(args)
    if args.best_of_n and args.reference:
        raise SystemExit("--reference measures per-token KL, which a best-of-n policy has not; its KL is reported")
    for folder in (args.reward_model, args.ranking_model):
        if folder is not None and not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{folder}: not a model folder (no config.json)")
    prompts = read_prompts(args.prompts)
    progress, close = progress_reporter(args, "evaluate")
    extra: dict[str, float | int | None] = {}
    if args.best_of_n:
        evaluated = best_of_n_evaluate(
            policy_dir=resolve_model(args.policy), ranking_model_dir=args.ranking_model,
            reward_model_dir=args.reward_model, n=args.best_of_n, prompts=prompts, config=config, progress=progress,
        )  # fmt: skip
        rows = evaluated.rows
        extra = {
            "best_of_n": args.best_of_n,
            "kl_analytic": evaluated.analytic_kl,
            "kl_measured": evaluated.measured_kl,
        }
    else:
        rows = responses_evaluate(
            policy_dir=resolve_model(args.policy),
            reference_dirs=[resolve_model(r) for r in args.reference],
            prompts=prompts,
            reward_model_dir=args.reward_model,
            progress=progress,
            **dataclasses.asdict(config),
        )
    close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False) + "\n", encoding="utf-8")
    summary = {**evaluation_summary(rows), **extra}
    if args.summary is not None:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2), file=sys.stderr if args.progress == "json" else sys.stdout)
    return 0


PPO = Subcommand("fine-tune a policy with PPO against a reward model", _configure, _run)
EVALUATE = Subcommand(
    "sample one response per prompt as PPO does, score it and measure its KL to reference policies",
    _configure_evaluate,
    _run_evaluate,
)
