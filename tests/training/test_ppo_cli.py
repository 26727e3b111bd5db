"""`python -m training ppo` end to end on the tiny model, and its error messages."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.training.ppo_fixtures import PROMPTS, tiny_policy_dir, tiny_reward_model_dir  # noqa: F401
from training.__main__ import main
from training.ppo.config import PPOConfig

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "training", "ppo", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_trains_and_prints_summary(tiny_policy_dir, tiny_reward_model_dir, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"text": p}) + "\n" for p in PROMPTS[:8]))
    out = tmp_path / "run"
    proc = _run(
        "--policy",
        str(tiny_policy_dir),
        "--reward-model",
        str(tiny_reward_model_dir),
        "--prompts",
        str(prompts),
        "--out",
        str(out),
        "--batch-size",
        "4",
        "--mini-batch-size",
        "2",
        "--ppo-epochs",
        "1",
        "--max-new-tokens",
        "4",
        "--device",
        "cpu",
        "--no-anneal-lr",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["steps"] == 2 and summary["episodes"] == 8
    assert (out / "policy" / "config.json").is_file()
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    config = PPOConfig.load(out / "ppo_config.json")
    assert config.batch_size == 4 and config.anneal_lr is False and config.kl_coef == 0.05
    assert "ppo" in proc.stderr  # the progress bar


def test_cli_reports_bad_inputs(tiny_policy_dir, tiny_reward_model_dir, tmp_path, capsys):
    def run(*args: str) -> str:
        assert main(["ppo", "--policy", str(tiny_policy_dir), "--out", str(tmp_path / "run"), *args]) == 2
        return capsys.readouterr().err

    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "ok"}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"other": 1}\n')
    rm = str(tiny_reward_model_dir)
    assert "nope.jsonl" in run("--reward-model", rm, "--prompts", str(tmp_path / "nope.jsonl"))
    assert "bad.jsonl:2" in run("--reward-model", rm, "--prompts", str(bad))
    assert "not a model folder" in run("--reward-model", str(tmp_path), "--prompts", str(good))
    assert "must divide" in run("--reward-model", rm, "--prompts", str(good), "--batch-size", "3")
