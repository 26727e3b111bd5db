"""Command-line subcommands of `python -m training`; each parses options, calls one function, prints."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from training.cli_args import add_dataclass_arguments, dataclass_from_args

if TYPE_CHECKING:  # tqdm loads only when a bar is drawn
    from tqdm.auto import tqdm


@dataclass(frozen=True)
class Subcommand:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def tqdm_progress(desc: str, *, enabled: bool = True) -> tuple[Callable[[float, str], None], tqdm]:
    """A `progress(fraction, message)` callback drawing a tqdm bar; returns (callback, bar).

    enabled=False (processes other than the main one) gives a silent bar.
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=1000, desc=desc, unit="‰", disable=not enabled)

    def progress(fraction: float, message: str) -> None:
        bar.update(max(0, round(fraction * 1000) - bar.n))
        bar.set_postfix_str(message, refresh=False)

    return progress, bar


PROGRESS_STYLES = ("bar", "json")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        choices=PROGRESS_STYLES,
        default="bar",
        help='bar: a progress bar on stderr; json: one {"progress": f, "message": m} line per update on stdout',
    )


def progress_reporter(
    args: argparse.Namespace, desc: str, *, enabled: bool = True
) -> tuple[Callable[[float, str], None], Callable[[], None]]:
    """The `progress(fraction, message)` callback that `--progress` asks for, and its closer. Only the main
    process (`enabled`) reports."""
    if getattr(args, "progress", "bar") == "json":
        from training.launch import json_progress

        return json_progress(enabled=enabled), lambda: None
    progress, bar = tqdm_progress(desc, enabled=enabled)
    return progress, bar.close


def add_best_of_n_arguments(parser: argparse.ArgumentParser, *, what: str, base: str) -> None:
    """--best-of-n N and --ranking-model FOLDER: the command works on the best-of-n policy over `base`."""
    parser.add_argument(
        "--best-of-n",
        type=int,
        default=0,
        metavar="N",
        help=f"{what} the best-of-N policy over {base}: each of its responses is the best of N fresh samples "
        f"ranked by --ranking-model (default 0: {base} itself)",
    )
    parser.add_argument("--ranking-model", type=Path, help="with --best-of-n: the reward model folder that ranks")


def best_of_n_arguments_check(args: argparse.Namespace) -> None:
    if args.best_of_n < 0:
        raise SystemExit(f"--best-of-n must be 0 (no best-of-n) or more, got {args.best_of_n}")
    if bool(args.best_of_n) != (args.ranking_model is not None):
        raise SystemExit("--best-of-n N and --ranking-model FOLDER go together: the ranking model picks the best")


def read_prompts(path: Path) -> list[str]:
    """JSONL prompts: each line an object with `text` or `prompt`, or a bare JSON string."""
    prompts: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if isinstance(row, dict):
                row = row.get("text", row.get("prompt"))
            if not isinstance(row, str) or not row.strip():
                raise ValueError(f"{path}:{number}: expected a non-empty string, or an object with 'text' or 'prompt'")
            prompts.append(row)
    if not prompts:
        raise ValueError(f"{path}: no prompts")
    return prompts


def _configure_convert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="folder to write the safetensors model to")


def _run_convert(args: argparse.Namespace) -> int:
    from training.loading import convert_smollm2

    print(convert_smollm2(args.out))
    return 0


def _configure_sample(parser: argparse.ArgumentParser) -> None:
    from training.sampling import SamplingConfig

    parser.add_argument("--model", required=True, help="tiny, smollm2-135m or a local model folder")
    parser.add_argument("--prompts", type=Path, required=True, help="JSONL of prompts (text/prompt field)")
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write samples to")
    add_best_of_n_arguments(parser, what="sample", base="--model")
    add_progress_argument(parser)
    add_dataclass_arguments(parser, SamplingConfig)


def _run_sample(args: argparse.Namespace) -> int:
    from training.loading import resolve_model
    from training.sampling import SamplingConfig, generate_samples

    best_of_n_arguments_check(args)
    config = dataclass_from_args(SamplingConfig, args)
    prompts = read_prompts(args.prompts)
    model_dir = resolve_model(args.model)
    progress, close = progress_reporter(args, "sample" if not args.best_of_n else f"best-of-{args.best_of_n}")
    if args.best_of_n:
        from training.best_of_n import best_of_n_draws, reward_model_scorer

        samples = best_of_n_draws(
            policy_dir=model_dir, prompts=prompts, n=args.best_of_n, scorer=reward_model_scorer(args.ranking_model),
            sampling=config, progress=progress,
        )  # fmt: skip
    else:
        samples = generate_samples(model_dir=model_dir, prompts=prompts, config=config, progress=progress)
    close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for sample in samples:
            fh.write(json.dumps(dataclasses.asdict(sample), ensure_ascii=False) + "\n")
    eos_rate = sum(s.finished_with_eos for s in samples) / len(samples)
    print(f"wrote {len(samples)} samples to {args.out} (EOS rate {eos_rate:.2f})", file=sys.stderr)
    return 0


def _configure_best_of_n(parser: argparse.ArgumentParser) -> None:
    from training.sampling import SamplingConfig

    parser.add_argument("--policy", required=True, help="tiny, smollm2-135m or a local model folder")
    parser.add_argument("--reward-model", required=True, type=Path, help="reward model folder that ranks the samples")
    parser.add_argument("--prompts", type=Path, required=True, help="JSONL of prompts (text/prompt field)")
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write the kept samples to")
    parser.add_argument("--n", type=int, default=4, help="samples per prompt to choose from (default: 4)")
    parser.add_argument(
        "--kl-reference-samples", type=int, default=0, help="extra samples per prompt to measure the KL (default: 0)"
    )
    add_dataclass_arguments(parser, SamplingConfig, skip=("samples_per_prompt",))


def _run_best_of_n(args: argparse.Namespace) -> int:
    from training.best_of_n import best_of_n_generate, reward_model_scorer
    from training.loading import resolve_model
    from training.sampling import SamplingConfig

    config = dataclass_from_args(SamplingConfig, args)
    prompts = read_prompts(args.prompts)
    policy_dir = resolve_model(args.policy)
    scorer = reward_model_scorer(args.reward_model)
    progress, bar = tqdm_progress(f"best-of-{args.n}")
    result = best_of_n_generate(
        policy_dir=policy_dir,
        prompts=prompts,
        n=args.n,
        scorer=scorer,
        sampling=config,
        kl_reference_samples=args.kl_reference_samples,
        progress=progress,
    )
    bar.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for choice in result.choices:
            fh.write(json.dumps(dataclasses.asdict(choice), ensure_ascii=False) + "\n")
    measured = "not measured" if result.measured_kl is None else f"{result.measured_kl:.3f}"
    print(
        f"wrote {len(result.choices)} best-of-{args.n} samples to {args.out} "
        f"(KL analytic {result.analytic_kl:.3f} nats, measured {measured})",
        file=sys.stderr,
    )
    return 0


CONVERT_SMOLLM2 = Subcommand(
    "convert the packaged SmolLM2-135M GGUF to a safetensors folder", _configure_convert, _run_convert
)
SAMPLE = Subcommand("sample responses from a policy for a JSONL of prompts", _configure_sample, _run_sample)
BEST_OF_N = Subcommand(
    "sample n responses per prompt and keep the one a reward model ranks highest", _configure_best_of_n, _run_best_of_n
)
