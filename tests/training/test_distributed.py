"""Data parallelism on CPU with gloo: 1 and 2 processes give the same update, and a launched PPO run writes once.

The processes start as a round's phases start them (training.launch.accelerate_command): several with
`--multi_gpu`, which on a machine without GPUs is torchrun + gloo on CPU.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from tests.training.ppo_fixtures import PROMPTS, tiny_policy_dir, tiny_reward_model_dir  # noqa: F401
from training.launch import accelerate_command
from training.loading import build_tiny_model

ROOT = Path(__file__).resolve().parents[2]
STEP_SCRIPT = Path(__file__).with_name("ddp_step.py")


def _launch(processes: int, *args: str, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", **(env or {})}
    result = subprocess.run(
        accelerate_command(entry=args, processes=processes), cwd=ROOT, env=environment, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def _max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def test_one_ppo_step_gives_the_same_weights_on_1_and_2_processes(tiny_policy_dir, tiny_reward_model_dir, tmp_path):
    results = {}
    for processes in (1, 2):
        out = tmp_path / f"ppo{processes}.pt"
        _launch(processes, str(STEP_SCRIPT), "ppo", str(tiny_policy_dir), str(tiny_reward_model_dir), str(out))
        results[processes] = torch.load(out, weights_only=True)
    one, two = results[1], results[2]
    assert one["advantages_std"] == pytest.approx(two["advantages_std"], rel=0.5)  # whitened over the whole batch
    for part in ("policy", "value"):
        assert _max_difference(one[part], two[part]) < 1e-5, part
    from transformers import AutoModelForCausalLM

    initial = AutoModelForCausalLM.from_pretrained(tiny_policy_dir).state_dict()
    assert _max_difference(one["policy"], initial) > 1e-4  # the step did move the weights


def test_one_reward_training_step_gives_the_same_weights_on_1_and_2_processes(tiny_policy_dir, tmp_path):
    results = {}
    for processes in (1, 2):
        out = tmp_path / f"reward{processes}.pt"
        _launch(processes, str(STEP_SCRIPT), "reward", str(tiny_policy_dir), str(out))
        results[processes] = torch.load(out, weights_only=True)["reward"]
    assert _max_difference(results[1], results[2]) < 1e-5
    from transformers import AutoModelForCausalLM

    initial = AutoModelForCausalLM.from_pretrained(tiny_policy_dir).state_dict()
    moved = {k: v for k, v in results[1].items() if k in initial}
    assert _max_difference(moved, {k: initial[k] for k in moved}) > 1e-4


def test_launched_ppo_on_two_processes_completes_and_writes_one_policy(tiny_reward_model_dir, tmp_path):
    cache = tmp_path / "models"
    build_tiny_model(cache / "tiny-llama")  # what `--policy tiny` resolves to, built once before launch
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"text": p}) + "\n" for p in PROMPTS[:8]))
    out = tmp_path / "run"
    result = _launch(
        2,
        "-m",
        "training",
        "ppo",
        "--policy",
        "tiny",
        "--reward-model",
        str(tiny_reward_model_dir),
        "--prompts",
        str(prompts),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--batch-size",
        "4",
        "--mini-batch-size",
        "2",
        "--ppo-epochs",
        "1",
        "--max-new-tokens",
        "4",
        "--instruction-template",
        "{text}",
        "--total-episodes",
        "8",
        env={"ARBITER_MODEL_DIR": str(cache)},
    )
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["steps"] == 2 and summary["episodes"] == 8
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2] and all(r["processes"] == 2 for r in records)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["checkpoint", "policy"]
    assert (out / "policy" / "model.safetensors").is_file()
