import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportion_confint

from rewards.data import save_preferences

from .conftest import synthetic_preferences

ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "rewards", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_evaluate_cli_prints_json(trained_reward_model, tmp_path):
    result, _ = trained_reward_model
    save_preferences(tmp_path / "test.jsonl", synthetic_preferences(64, seed=1))
    done = _run("evaluate", "--model", str(result.out_dir), "--data", str(tmp_path / "test.jsonl"))
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert metrics["n"] == 64 and metrics["accuracy"] == result.metrics["accuracy"]
    assert metrics["ci95"][0] <= metrics["accuracy"] <= metrics["ci95"][1]


def test_train_cli_with_local_folder(tiny_base, tmp_path):
    save_preferences(tmp_path / "train.jsonl", synthetic_preferences(40, seed=3))
    done = _run(
        "train",
        "--data",
        str(tmp_path / "train.jsonl"),
        "--base",
        str(tiny_base),
        "--out",
        str(tmp_path / "rm"),
        "--max-length",
        "64",  # the default template alone is 37 tiny-tokenizer tokens, and is never cut
        "--max-steps",
        "2",
        "--batch-size",
        "8",
        "--eval-fraction",
        "0.25",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["metrics"]["n"] == 10 and summary["extra"]["train_pairs"] == 30
    assert (tmp_path / "rm" / "reward_config.json").is_file()


def test_baseline_cli_scores_the_shorter_response(tmp_path):
    from rewards.data import PreferenceExample

    rows = [
        PreferenceExample("p1", "short", "a longer answer"),  # shorter chosen: right
        PreferenceExample("p2", "a longer answer", "short"),  # longer chosen: wrong
        PreferenceExample("p3", "same!", "equal"),  # equal lengths count as wrong, as a tied reward model's do
        PreferenceExample("p4", "ok", "not ok at all"),  # right
    ]
    save_preferences(tmp_path / "pairs.jsonl", rows)
    done = _run("baseline", "--data", str(tmp_path / "pairs.jsonl"))
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert metrics["n"] == 4 and metrics["accuracy"] == 0.5
    assert metrics["ci95"] == pytest.approx(list(proportion_confint(2, 4, alpha=0.05, method="wilson")), abs=1e-12)


def test_cli_errors_are_clear(tmp_path):
    done = _run("evaluate", "--model", str(tmp_path), "--data", str(tmp_path / "missing.jsonl"))
    assert done.returncode == 2 and "error:" in done.stderr


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["evaluate", "--help"], ["baseline", "--help"]])
def test_help_renders(argv, capsys):
    from rewards.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "usage: python -m rewards" in capsys.readouterr().out


def test_score_cli_writes_the_scorers_rewards_in_order(trained_reward_model, tmp_path):
    from rewards.scoring import reward_model_score

    result, _ = trained_reward_model
    rows = [{"prompt": f"prompt {i}", "response": "good " * (i + 1)} for i in range(5)]
    data = tmp_path / "responses.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "scores.json"
    done = _run("score", "--model", str(result.out_dir), "--data", str(data), "--out", str(out))
    assert done.returncode == 0, done.stderr
    expected = reward_model_score(
        model_dir=result.out_dir, prompts=[r["prompt"] for r in rows], responses=[r["response"] for r in rows]
    )
    assert json.loads(out.read_text(encoding="utf-8")) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"prompt": "p"}'], "responses.jsonl:1: each line needs the strings prompt and response"),
        ([""], "no responses"),
    ],
)
def test_score_cli_refuses_rows_without_a_response(trained_reward_model, tmp_path, lines, message):
    result, _ = trained_reward_model
    data = tmp_path / "responses.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _run("score", "--model", str(result.out_dir), "--data", str(data), "--out", str(tmp_path / "s.json"))
    assert done.returncode != 0 and message in done.stderr
    assert not (tmp_path / "s.json").exists()
