"""`python -m training ppo`: parse options into a PPOConfig, run ppo_train with a progress bar, print a summary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.cli_args import add_dataclass_arguments, dataclass_from_args
from training.commands import Subcommand, read_prompts, tqdm_progress


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
    progress, bar = tqdm_progress("ppo", enabled=group.is_main)
    result = ppo_train(
        config=config,
        policy_dir=policy_dir,
        reward_model_dir=args.reward_model,
        prompts=prompts,
        out_dir=args.out,
        progress=progress,
        resume=args.resume,
    )
    bar.close()
    if not group.is_main:
        return 0
    last = result.metrics[-1]
    summary = {
        "policy": str(result.policy_dir),
        "steps": result.steps,
        "episodes": result.episodes,
        "metrics": str(result.metrics_path),
        **{key: last[key] for key in ("score", "kl", "entropy", "eos_rate", "response_length")},
    }
    print(json.dumps(summary, indent=2))
    if result.prompts_truncated:
        print(f"note: {result.prompts_truncated} prompts were cut to --max-prompt-tokens", file=sys.stderr)
    return 0


PPO = Subcommand("fine-tune a policy with PPO against a reward model", _configure, _run)
