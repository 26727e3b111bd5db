"""`python -m rewards train|evaluate|baseline|score`: reward-model training, evaluation and scoring without Django."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
from pathlib import Path

from rewards.config import RewardConfig
from training.cli_args import add_dataclass_arguments, dataclass_from_args
from training.commands import add_progress_argument, progress_reporter


def _configure_train(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="training pairs, TRL JSONL (prompt, chosen, rejected)")
    parser.add_argument("--base", required=True, help="policy backbone: tiny, smollm2-135m or a local model folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the trained reward model")
    parser.add_argument("--eval-data", type=Path, help="held-out pairs; default: a seeded split of --data")
    parser.add_argument(
        "--eval-fraction", type=float, default=0.1, help="held-out share of --data without --eval-data; 0: none"
    )
    parser.add_argument("--limit", type=int, help="use only the first N training pairs (after the split)")
    add_progress_argument(parser)
    add_dataclass_arguments(parser, RewardConfig)


def _run_train(args: argparse.Namespace) -> int:
    from rewards.data import load_preferences
    from rewards.train import reward_model_train
    from training.distributed import launched_rank
    from training.loading import resolve_model

    config = dataclass_from_args(RewardConfig, args)
    train = load_preferences(args.data)
    if args.eval_data is not None:
        held_out = load_preferences(args.eval_data)
    else:
        if not 0 <= args.eval_fraction < 1:
            raise ValueError("--eval-fraction must be in [0, 1)")
        order = list(range(len(train)))
        random.Random(config.seed).shuffle(order)
        cut = round(len(train) * args.eval_fraction)
        held_out, train = [train[i] for i in order[:cut]], [train[i] for i in order[cut:]]
    if args.limit is not None:
        train = train[: args.limit]
    base = resolve_model(args.base)
    # Under `accelerate launch` TRL's Trainer splits the batches over the processes; one of them reports.
    main = launched_rank() == 0
    progress, close = progress_reporter(args, "reward model", enabled=main)
    result = reward_model_train(
        config=config, train=train, eval=held_out, base_model_dir=base, out_dir=args.out, progress=progress
    )
    close()
    if not main:
        return 0
    summary = {k: v for k, v in dataclasses.asdict(result).items() if k not in ("loss_history",)}
    summary["out_dir"] = str(result.out_dir)
    summary["metrics"] = {k: v for k, v in result.metrics.items() if k != "calibration"}
    summary["ece"] = result.metrics.get("calibration", {}).get("ece")
    summary["loss_first_last"] = [result.loss_history[0], result.loss_history[-1]] if result.loss_history else []
    print(json.dumps(summary, indent=2, default=str), file=sys.stderr if args.progress == "json" else sys.stdout)
    return 0


def _configure_evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="reward model folder written by `train`")
    parser.add_argument("--data", type=Path, required=True, help="pairs to evaluate, TRL JSONL")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per forward pass")


def _run_evaluate(args: argparse.Namespace) -> int:
    from rewards.data import load_preferences
    from rewards.scoring import reward_model_evaluate

    metrics = reward_model_evaluate(
        model_dir=args.model, examples=load_preferences(args.data), batch_size=args.batch_size
    )
    print(json.dumps(metrics, indent=2))
    return 0


def _configure_score(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="reward model folder written by `train`")
    parser.add_argument("--data", type=Path, required=True, help="JSONL of responses to score: prompt, response")
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the rewards, one per line of --data")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per forward pass")
    add_progress_argument(parser)


def _read_responses(path: Path) -> tuple[list[str], list[str]]:
    prompts: list[str] = []
    responses: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if (
                not isinstance(row, dict)
                or not isinstance(row.get("prompt"), str)
                or not isinstance(row.get("response"), str)
            ):
                raise ValueError(f"{path}:{number}: each line needs the strings prompt and response")
            prompts.append(row["prompt"])
            responses.append(row["response"])
    if not prompts:
        raise ValueError(f"{path}: no responses to score")
    return prompts, responses


def _run_score(args: argparse.Namespace) -> int:
    from rewards.scoring import reward_model_score

    prompts, responses = _read_responses(args.data)
    progress, close = progress_reporter(args, "score")
    progress(0.0, f"scoring {len(responses)} responses")
    scores = reward_model_score(model_dir=args.model, prompts=prompts, responses=responses, batch_size=args.batch_size)
    progress(1.0, f"scored {len(scores)}")
    close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(scores) + "\n", encoding="utf-8")
    print(f"wrote {len(scores)} rewards to {args.out}", file=sys.stderr)
    return 0


def _configure_baseline(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="pairs to evaluate, TRL JSONL")


def _run_baseline(args: argparse.Namespace) -> int:
    from rewards.data import load_preferences
    from rewards.metrics import shorter_response_baseline

    examples = load_preferences(args.data)
    metrics = shorter_response_baseline([e.chosen for e in examples], [e.rejected for e in examples])
    print(json.dumps({k: v for k, v in metrics.items() if k != "calibration"}, indent=2))
    return 0


SUBCOMMANDS = {
    "train": ("train a reward model on preference pairs", _configure_train, _run_train),
    "evaluate": ("held-out accuracy (with 95%% CI) of a reward model", _configure_evaluate, _run_evaluate),
    "baseline": ("accuracy of 'the shorter response is chosen' on the same pairs", _configure_baseline, _run_baseline),
    "score": ("the reward model's normalised reward of each (prompt, response)", _configure_score, _run_score),
}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models are local folders; never reach a hub
    parser = argparse.ArgumentParser(prog="python -m rewards", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _) in SUBCOMMANDS.items():
        configure(subparsers.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    try:
        return SUBCOMMANDS[args.command][2](args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
