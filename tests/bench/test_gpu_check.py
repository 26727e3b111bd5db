"""The GPU check's CPU smoke test: every measurement runs on the tiny shape, without TRL, datasets or Django."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_runs_on_the_tiny_shape_on_cpu(tmp_path):
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [
            sys.executable,
            "bench/gpu_check.py",
            "--sizes",
            "tiny",
            "--device",
            "cpu",
            "--steps",
            "1",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["forbidden_modules_loaded"] == []
    assert report["matmul_tflops"] > 0
    tiny = report["sizes"]["tiny"]
    reward, ppo = tiny["reward_training"], tiny["ppo"]
    assert reward["tokens_per_s"] > 0 and 0 < reward["mfu"] < 1
    assert ppo["episodes_per_s"] > 0 and 0 < ppo["mfu"] < 1
    assert set(ppo["time_share"]) == {"generation", "scoring", "optimisation"}
    assert abs(sum(ppo["time_share"].values()) - 1) < 1e-6
    assert "MFU" in result.stdout and "episodes/s" in result.stdout
