"""Reward-model training MFU and policy generation speed, against the matmul rate measured in this run.

MFU = 6 * non-embedding parameters * trained tokens / seconds / (measured dense matmul FLOP/s);
on CUDA the matmul rate is measured in bf16 (training runs in bf16 autocast there), else fp32.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from rewards.config import RewardConfig  # noqa: E402
from rewards.data import preferences_from_hh_rlhf  # noqa: E402
from rewards.train import reward_model_train  # noqa: E402
from training.loading import load_policy, pick_device, resolve_model  # noqa: E402
from training.sampling import SamplingConfig, generate_with_policy  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def matmul_flops(device: torch.device, *, size: int = 2048, repeats: int = 10) -> float:
    """Best-of-3 dense matmul FLOP/s in the dtype training uses on this device."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if device.type == "cuda":
        size = 8192
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(4):  # the first round is warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 * repeats / best


def non_embedding_params(model_dir: Path) -> int:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    embedding = model.get_input_embeddings().weight.numel()
    return sum(p.numel() for p in model.parameters()) - embedding  # tied head: embeddings are a lookup


def bench_training(model_dir: Path, *, steps: int, batch_size: int, max_length: int, peak: float) -> dict:
    examples, _ = preferences_from_hh_rlhf(SHARED / "hh-rlhf-harmless-dev.jsonl.gz")
    # The longest pairs, so every sequence fills max_length after left truncation (no padding to discount).
    examples.sort(key=lambda e: len(e.prompt) + min(len(e.chosen), len(e.rejected)), reverse=True)
    train = examples[: steps * batch_size]
    config = RewardConfig(
        max_length=max_length,
        instruction_template="{text}",
        batch_size=batch_size,
        max_steps=steps,
        learning_rate=1e-5,
        reference_limit=4,
        logging_steps=steps,
    )
    with tempfile.TemporaryDirectory() as out:
        result = reward_model_train(
            config=config, train=train, eval=[], base_model_dir=model_dir, out_dir=Path(out) / "rm"
        )
    params = non_embedding_params(model_dir)
    achieved = 6 * params * result.train_tokens / result.train_seconds
    return {
        "non_embedding_params": params,
        "steps": steps,
        "pairs_per_step": batch_size,
        "max_length": max_length,
        "train_tokens": result.train_tokens,
        "train_seconds": round(result.train_seconds, 2),
        "tokens_per_s": round(result.train_tokens / result.train_seconds, 1),
        "achieved_tflops": round(achieved / 1e12, 4),
        "mfu": round(achieved / peak, 4),
    }


def bench_generation(model_dir: Path, *, batch_size: int, max_new_tokens: int) -> dict:
    fables = [json.loads(line)["text"] for line in (SHARED / "fables.jsonl").read_text(encoding="utf-8").splitlines()]
    config = SamplingConfig(max_new_tokens=max_new_tokens, batch_size=batch_size, temperature=0.7, seed=0)
    prompts = fables[: batch_size * 2]
    model, tokenizer = load_policy(model_dir)
    generate_with_policy(model=model, tokenizer=tokenizer, prompts=prompts[:batch_size], config=config)  # warm-up
    started = time.perf_counter()
    samples = generate_with_policy(model=model, tokenizer=tokenizer, prompts=prompts, config=config)
    seconds = time.perf_counter() - started
    tokens = sum(s.num_tokens for s in samples)
    return {
        "batch_size": batch_size,
        "samples": len(samples),
        "tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m", help="tiny, smollm2-135m or a model folder")
    parser.add_argument("--steps", type=int, default=4, help="optimiser steps timed for MFU")
    parser.add_argument("--batch-size", type=int, default=4, help="pairs per step")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--skip-generation", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "bench_reward.json")
    args = parser.parse_args()

    device = pick_device()
    model_dir = resolve_model(args.model)
    peak = matmul_flops(device)
    figures: dict = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "matmul_tflops": round(peak / 1e12, 4),
        "reward_training": bench_training(
            model_dir, steps=args.steps, batch_size=args.batch_size, max_length=args.max_length, peak=peak
        ),
    }
    if not args.skip_generation:
        figures["generation"] = [
            bench_generation(model_dir, batch_size=b, max_new_tokens=args.max_new_tokens) for b in (1, 8)
        ]
        rates = [g["tokens_per_s"] for g in figures["generation"]]
        figures["generation_batch8_over_batch1"] = round(rates[1] / rates[0], 2)
    figures["matmul_tflops_after"] = round(matmul_flops(device) / 1e12, 4)  # drift shows a busy machine
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
