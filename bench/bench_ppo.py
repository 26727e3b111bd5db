"""PPO throughput: episodes/s and seconds per phase (generation, scoring, optimisation), with MFU.

The optimisation and scoring phases are also given as model-FLOPs utilisation against the fp32
(bf16 on CUDA) matmul rate measured in the same run.

    python bench/bench_ppo.py --model smollm2-135m --steps 4
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

from training.loading import default_dtype, pick_device, resolve_model
from training.ppo import PPOConfig, ppo_train

FABLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "fables.jsonl"


def matmul_rate(device: torch.device, dtype: torch.dtype, size: int = 2048, seconds: float = 2.0) -> float:
    """Sustained FLOP/s of square matmuls (the reference the MFU figures divide by)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * size**3 * count / (time.perf_counter() - started)


def forward_flops(config, *, sequence_tokens: float, head_tokens: float) -> float:
    """2 x non-embedding parameters x tokens, plus the output projection on the tokens that need logits."""
    hidden, vocab = config.hidden_size, config.vocab_size
    layers = config.num_hidden_layers
    inter = getattr(config, "intermediate_size", None) or 4 * hidden
    kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    kv = hidden * kv_heads // config.num_attention_heads
    per_layer = hidden * (hidden + 2 * kv) + hidden * hidden + 3 * hidden * inter
    return 2 * layers * per_layer * sequence_tokens + 2 * hidden * vocab * head_tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m", help="tiny, smollm2-135m or a model folder")
    parser.add_argument("--steps", type=int, default=4, help="PPO steps; the first is reported apart as warm-up")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--ppo-epochs", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()
    device = pick_device()
    policy_dir = resolve_model(args.model)
    prompts = [json.loads(line)["text"] for line in FABLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    config = PPOConfig(
        total_episodes=args.steps * args.batch_size,
        batch_size=args.batch_size,
        mini_batch_size=args.batch_size,
        ppo_epochs=args.ppo_epochs,
        max_new_tokens=args.max_new_tokens,
        save_every=0,
        learning_rate=1e-5,
    )
    with tempfile.TemporaryDirectory(prefix="bench-ppo-") as scratch:
        # Timing does not depend on what the reward model learned: a fresh scalar head on the backbone.
        rm_dir = Path(scratch) / "rm"
        AutoModelForSequenceClassification.from_pretrained(policy_dir, num_labels=1).save_pretrained(rm_dir)
        started = time.perf_counter()
        result = ppo_train(
            config=config,
            policy_dir=policy_dir,
            reward_model_dir=rm_dir,
            prompts=prompts,
            out_dir=Path(scratch) / "run",
        )
        total = time.perf_counter() - started
    rate = matmul_rate(device, default_dtype(device))

    model_config = AutoConfig.from_pretrained(policy_dir)
    measured = result.metrics[1:] or result.metrics  # step 1 pays one-off allocation and warm-up costs
    phases = {
        p: sum(m[f"time_{p}"] for m in measured) / len(measured) for p in ("generation", "scoring", "optimisation")
    }
    step_seconds = sum(phases.values())
    from training.loading import load_tokenizer
    from training.sampling import format_prompt

    tokenizer = load_tokenizer(policy_dir)
    prompt_tokens = sum(
        len(tokenizer(format_prompt(tokenizer, p, config.instruction_template))["input_ids"]) for p in prompts
    ) / len(prompts)
    response_tokens = sum(m["response_length"] for m in measured) / len(measured)
    sequence = args.batch_size * (prompt_tokens + response_tokens)
    head = args.batch_size * (response_tokens + 1)
    one_forward = forward_flops(model_config, sequence_tokens=sequence, head_tokens=head)
    value_forward = forward_flops(model_config, sequence_tokens=sequence, head_tokens=0)
    # Scoring: policy, reference (with logits) + value, reward model (scalar heads). Optimisation: forward
    # and backward (x3) of policy and value per PPO epoch.
    scoring_flops = 2 * one_forward + 2 * value_forward
    optimisation_flops = 3 * args.ppo_epochs * (one_forward + value_forward)
    report = {
        "model": args.model,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "ppo_epochs": args.ppo_epochs,
        "steps": result.steps,
        "mean_prompt_tokens": round(prompt_tokens, 1),
        "mean_response_tokens": round(response_tokens, 1),
        "episodes_per_s": round(args.batch_size / step_seconds, 4),
        "seconds_per_step": round(step_seconds, 2),
        "phase_seconds_per_step": {p: round(s, 2) for p, s in phases.items()},
        "phase_share": {p: round(s / step_seconds, 3) for p, s in phases.items()},
        "generated_tokens_per_s": round(args.batch_size * response_tokens / phases["generation"], 1),
        "matmul_tflops": round(rate / 1e12, 3),
        "scoring_mfu": round(scoring_flops / phases["scoring"] / rate, 3),
        "optimisation_mfu": round(optimisation_flops / phases["optimisation"] / rate, 3),
        "wall_seconds_with_loading": round(total, 1),
        "first_step_seconds": round(sum(result.metrics[0][f"time_{p}"] for p in phases), 2),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
