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
    add_dataclass_arguments(parser, SamplingConfig)


def _run_sample(args: argparse.Namespace) -> int:
    from training.loading import resolve_model
    from training.sampling import SamplingConfig, generate_samples

    config = dataclass_from_args(SamplingConfig, args)
    prompts = read_prompts(args.prompts)
    model_dir = resolve_model(args.model)
    progress, bar = tqdm_progress("sample")
    samples = generate_samples(model_dir=model_dir, prompts=prompts, config=config, progress=progress)
    bar.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for sample in samples:
            fh.write(json.dumps(dataclasses.asdict(sample), ensure_ascii=False) + "\n")
    eos_rate = sum(s.finished_with_eos for s in samples) / len(samples)
    print(f"wrote {len(samples)} samples to {args.out} (EOS rate {eos_rate:.2f})", file=sys.stderr)
    return 0


CONVERT_SMOLLM2 = Subcommand(
    "convert the packaged SmolLM2-135M GGUF to a safetensors folder", _configure_convert, _run_convert
)
SAMPLE = Subcommand("sample responses from a policy for a JSONL of prompts", _configure_sample, _run_sample)
