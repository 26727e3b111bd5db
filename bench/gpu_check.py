"""One-command GPU check: matmul rate, reward-training and PPO throughput, MFU and peak memory.

    python bench/gpu_check.py                         # 135M, 1B, 8B on CUDA (about 5-8 minutes on one H100/H200)
    python bench/gpu_check.py --sizes tiny --device cpu   # smoke test (the test suite runs this)

Models are randomly initialised from the Llama shapes of SmolLM2-135M, Llama-3.2-1B and Llama-3.1-8B
(training/memory.py), so nothing is downloaded. Imports stay within torch, transformers, accelerate and
peft (no TRL, datasets or Django), which is what the borrowed GPU machine has. The PPO figures run
Arbiter's own rollout, scoring and update functions (training/ppo); reward training runs the same
pairwise loss as rewards/train.py in a plain loop, since TRL is not available there.
MFU = achieved model FLOP/s over the bf16 matmul rate measured in the same run (6 P per trained token,
2 P per forward-only token).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

from training.distributed import ProcessGroup
from training.lora import LoraSettings, lora_apply
from training.memory import REFERENCE_CONFIGS, ModelShape, memory_estimate
from training.ppo.actors import Actors
from training.ppo.config import PPOConfig
from training.ppo.rollout import RewardModelScorer, responses_generate
from training.ppo.trainer import ppo_update, rollout_score

FORBIDDEN_MODULES = ("trl", "datasets", "django")
TINY_CONFIG = dict(
    hidden_size=64,
    num_hidden_layers=2,
    vocab_size=512,
    intermediate_size=128,
    num_attention_heads=4,
    num_key_value_heads=2,
    tie_word_embeddings=True,
    max_position_embeddings=512,
)
PAD_ID, EOS_ID = 0, 2


@dataclass(frozen=True)
class Plan:
    """What one model size runs: reward training and PPO, full fine-tuning or LoRA."""

    name: str
    config: dict
    lora_r: int
    rm_batch: int  # pairs per step
    rm_length: int
    ppo_batch: int
    ppo_mini_batch: int
    prompt_tokens: int = 128
    response_tokens: int = 64
    ppo_epochs: int = 2


PLANS = {
    "tiny": Plan("tiny", TINY_CONFIG, lora_r=0, rm_batch=4, rm_length=32, ppo_batch=4, ppo_mini_batch=2,
                 prompt_tokens=16, response_tokens=8, ppo_epochs=1),
    "135m": Plan("smollm2-135m", REFERENCE_CONFIGS["smollm2-135m"], lora_r=0, rm_batch=32, rm_length=512,
                 ppo_batch=64, ppo_mini_batch=16),
    "1b": Plan("llama-3.2-1b", REFERENCE_CONFIGS["llama-3.2-1b"], lora_r=16, rm_batch=16, rm_length=512,
               ppo_batch=64, ppo_mini_batch=16),
    "8b": Plan("llama-3.1-8b", REFERENCE_CONFIGS["llama-3.1-8b"], lora_r=16, rm_batch=8, rm_length=512,
               ppo_batch=32, ppo_mini_batch=8),
}  # fmt: skip


class _Ids:
    """The three token ids the rollout needs; random-init models have no real tokenizer."""

    eos_token_id, pad_token_id = EOS_ID, PAD_ID

    def batch_decode(self, ids, **_) -> list[str]:
        return [""] * len(ids)


class _InMemoryRewardModel(RewardModelScorer):
    """RewardModelScorer around a model built in memory rather than loaded from a folder."""

    def __init__(self, model) -> None:
        self.model_dir, self.model, self.bias, self.eos_token_id = None, model, 0.0, EOS_ID


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _peak_reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated() / 1024**3 if device.type == "cuda" else None


def matmul_rate(device: torch.device, *, size: int, seconds: float = 2.0) -> float:
    """Dense matmul FLOP/s in the training precision (bf16 on CUDA, fp32 on CPU)."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(10):
            a @ b
        runs += 10
        _sync(device)
    return 2 * size**3 * runs / (time.perf_counter() - started)


def _llama_config(plan: Plan, *, num_labels: int | None = None) -> LlamaConfig:
    values = dict(plan.config, pad_token_id=PAD_ID, eos_token_id=EOS_ID, bos_token_id=1)
    config = LlamaConfig(**values)
    config._attn_implementation = "sdpa"
    if num_labels is not None:
        config.num_labels = num_labels
    return config


def _build(cls, config: LlamaConfig, device: torch.device, dtype: torch.dtype):
    """A randomly initialised model created directly on the device (seconds, even for 8B on a GPU)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = cls(config)
    finally:
        torch.set_default_dtype(previous)
    return model


def _trained_dtype(plan: Plan, device: torch.device) -> torch.dtype:
    # As the trainers run: fully trained weights fp32 (bf16 autocast), LoRA bases frozen in bf16 on CUDA.
    return torch.bfloat16 if plan.lora_r and device.type == "cuda" else torch.float32


def _frozen_dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def _autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def reward_training(plan: Plan, device: torch.device, *, steps: int, rate: float) -> dict:
    torch.manual_seed(0)
    _peak_reset(device)
    model = _build(
        LlamaForSequenceClassification, _llama_config(plan, num_labels=1), device, _trained_dtype(plan, device)
    )
    parameters = ModelShape.from_config(plan.config).parameters
    if plan.lora_r:
        model = lora_apply(model, LoraSettings(plan.lora_r), task="SEQ_CLS")
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5)
    vocab = plan.config["vocab_size"]
    ids = torch.randint(3, vocab, (2 * plan.rm_batch, plan.rm_length), device=device)  # (2B, T) chosen; rejected
    mask = torch.ones_like(ids)

    def step() -> None:
        with _autocast(device):
            rewards = model(input_ids=ids, attention_mask=mask).logits.squeeze(-1).float()  # (2B,)
        chosen, rejected = rewards.chunk(2)
        loss = -torch.nn.functional.logsigmoid(chosen - rejected).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()

    step()  # warm-up: kernels, allocator
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    seconds = (time.perf_counter() - started) / steps
    tokens_per_s = ids.numel() / seconds
    result = {
        "mode": f"lora r={plan.lora_r}" if plan.lora_r else "full",
        "parameters": parameters,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "pairs_per_step": plan.rm_batch,
        "sequence_tokens": plan.rm_length,
        "seconds_per_step": seconds,
        "tokens_per_s": tokens_per_s,
        "mfu": 6 * parameters * tokens_per_s / rate,
        "peak_memory_gib": _peak_gib(device),
        "estimated_memory_gib": memory_estimate(
            ModelShape.from_config(plan.config),
            phase="reward",
            mode="lora" if plan.lora_r else "full",
            lora_r=max(plan.lora_r, 1),
            batch_size=plan.rm_batch,
            sequence_tokens=plan.rm_length,
        ).total_gib,
    }
    return result


def ppo(plan: Plan, device: torch.device, *, steps: int, rate: float) -> dict:
    torch.manual_seed(0)
    _peak_reset(device)
    lora = plan.lora_r > 0
    config = PPOConfig(
        batch_size=plan.ppo_batch,
        mini_batch_size=plan.ppo_mini_batch,
        ppo_epochs=plan.ppo_epochs,
        max_new_tokens=plan.response_tokens,
        missing_eos_penalty=0.0,
        lora_r=plan.lora_r,
        device=device.type,
    )
    trained = _trained_dtype(plan, device)
    policy = _build(LlamaForCausalLM, _llama_config(plan), device, trained)
    value_model = _build(LlamaForSequenceClassification, _llama_config(plan, num_labels=1), device, trained)
    reward_model = _build(
        LlamaForSequenceClassification, _llama_config(plan, num_labels=1), device, _frozen_dtype(device)
    )
    reward_model.eval().requires_grad_(False)
    reference = None
    if lora:
        policy = lora_apply(policy, config.lora, task="CAUSAL_LM")
        value_model = lora_apply(value_model, config.lora, task="SEQ_CLS")
    else:
        reference = _build(LlamaForCausalLM, _llama_config(plan), device, _frozen_dtype(device))
        reference.load_state_dict(policy.state_dict())
        reference.eval().requires_grad_(False)
    policy.eval(), value_model.eval()
    actors = Actors(policy, value_model, reference)
    scorer = _InMemoryRewardModel(reward_model)
    optimizer = torch.optim.AdamW(actors.trainable(), lr=config.learning_rate, eps=config.adam_eps)
    group = ProcessGroup(rank=0, world=1, device=device)
    vocab = plan.config["vocab_size"]
    queries = torch.randint(3, vocab, (plan.ppo_batch, plan.prompt_tokens), device=device)  # (B, P)
    query_mask = torch.ones_like(queries)
    ids = _Ids()
    timings = {"generation": 0.0, "scoring": 0.0, "optimisation": 0.0}
    response_tokens = 0

    def step(record: bool) -> None:
        nonlocal response_tokens
        with _autocast(device):
            started = time.perf_counter()
            batch = responses_generate(
                actors.policy,
                ids,
                prompts=[""] * plan.ppo_batch,
                queries=queries,
                query_mask=query_mask,
                temperature=config.temperature,
                max_new_tokens=config.max_new_tokens,
            )
            _sync(device)
            generated = time.perf_counter()
            rollout = rollout_score(config=config, actors=actors, scorer=scorer, batch=batch, group=group)
            _sync(device)
            scored = time.perf_counter()
            ppo_update(config=config, rollout=rollout, actors=actors, optimizer=optimizer, group=group)
            _sync(device)
            done = time.perf_counter()
        if record:
            timings["generation"] += generated - started
            timings["scoring"] += scored - generated
            timings["optimisation"] += done - scored
            response_tokens += int(batch.responses.shape[1]) * plan.ppo_batch

    step(record=False)  # warm-up
    for _ in range(steps):
        step(record=True)
    parameters = ModelShape.from_config(plan.config).parameters
    total = sum(timings.values())
    sequence = plan.prompt_tokens + response_tokens / (steps * plan.ppo_batch)
    sequences = steps * plan.ppo_batch
    flops = {
        "generation": 2 * parameters * response_tokens,
        # policy, reference, value model and reward model each read every sequence once
        "scoring": 4 * 2 * parameters * sequence * sequences,
        # policy and value model: forward + backward on every sequence, every PPO epoch
        "optimisation": plan.ppo_epochs * 2 * 6 * parameters * sequence * sequences,
    }
    result = {
        "mode": f"lora r={plan.lora_r}" if lora else "full",
        "parameters": parameters,
        "episodes_per_step": plan.ppo_batch,
        "prompt_tokens": plan.prompt_tokens,
        "response_tokens": plan.response_tokens,
        "ppo_epochs": plan.ppo_epochs,
        "episodes_per_s": sequences / total,
        "seconds_per_step": total / steps,
        "time_share": {phase: seconds / total for phase, seconds in timings.items()},
        "phase_mfu": {phase: flops[phase] / timings[phase] / rate for phase in timings},
        "mfu": sum(flops.values()) / total / rate,
        "peak_memory_gib": _peak_gib(device),
        "estimated_memory_gib": memory_estimate(
            ModelShape.from_config(plan.config),
            phase="ppo",
            mode="lora" if lora else "full",
            lora_r=max(plan.lora_r, 1),
            batch_size=plan.ppo_mini_batch,
            sequence_tokens=plan.prompt_tokens + plan.response_tokens,
            new_tokens=plan.response_tokens,
        ).total_gib,
    }
    return result


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="135m,1b,8b", help=f"comma-separated, from {', '.join(PLANS)}")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement (after one warm-up)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in PLANS]
    if unknown:
        parser.error(f"unknown sizes {unknown}; choose from {', '.join(PLANS)}")
    started = time.perf_counter()
    rate = matmul_rate(
        device, size=8192 if device.type == "cuda" else 256, seconds=2.0 if device.type == "cuda" else 0.3
    )
    report: dict = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "matmul_tflops": rate / 1e12,
        "sizes": {},
    }
    print(f"device {report['device']}: measured {'bf16' if device.type == 'cuda' else 'fp32'} matmul "
          f"{rate / 1e12:.1f} TFLOP/s", flush=True)  # fmt: skip
    for size in sizes:
        plan = PLANS[size]
        entry: dict = {"model": plan.name}
        for phase, run in (("reward_training", reward_training), ("ppo", ppo)):
            try:
                entry[phase] = run(plan, device, steps=args.steps, rate=rate)
            except torch.cuda.OutOfMemoryError as exc:
                entry[phase] = {"error": f"out of memory: {str(exc).splitlines()[0]}"}
            _free(device)
            print(f"{plan.name} {phase}: {_summary(entry[phase])}", flush=True)
        report["sizes"][size] = entry
    report["seconds"] = time.perf_counter() - started
    report["forbidden_modules_loaded"] = sorted(m for m in FORBIDDEN_MODULES if m in sys.modules)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def _summary(figures: dict) -> str:
    if "error" in figures:
        return figures["error"]
    peak = figures["peak_memory_gib"]
    memory = f"peak {peak:.1f} GiB (estimate {figures['estimated_memory_gib']:.1f})" if peak is not None else ""
    if "tokens_per_s" in figures:
        return f"{figures['mode']}: {figures['tokens_per_s']:,.0f} tokens/s, MFU {figures['mfu']:.1%} {memory}"
    shares = ", ".join(f"{k} {v:.0%}" for k, v in figures["time_share"].items())
    return (
        f"{figures['mode']}: {figures['episodes_per_s']:.1f} episodes/s, MFU {figures['mfu']:.1%} ({shares}) {memory}"
    )


if __name__ == "__main__":
    sys.exit(main())
