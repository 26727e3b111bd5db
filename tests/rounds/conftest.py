"""Fixtures for training rounds: a project with fable prompts and human references, tiny round settings."""

from __future__ import annotations

import json

import pytest

from common import clock
from labeling.models import Policy, PolicyKind
from labeling.services.imports import prompts_import
from labeling.stats.intervals import wilson_interval
from rounds.models import RewardModel, RoundState, TrainingRound
from rounds.phases.evaluation import evaluation_samples_write
from tests.conftest import SHARED_DATA

# Small enough for 2 CPU cores: a handful of prompts, short responses, a few PPO steps.
TINY_SETTINGS = {
    "base_model": "tiny",
    "num_prompts": 4,
    "samples_per_prompt": 2,
    "pairs_per_prompt": 2,
    "heldout_prompts": 2,
    "eval_pairs": 2,
    "max_new_tokens": 12,
    "reward": {"max_length": 128, "batch_size": 4, "num_epochs": 1.0, "logging_steps": 1, "learning_rate": 1e-3},
    "ppo": {
        "batch_size": 2,
        "mini_batch_size": 2,
        "ppo_epochs": 1,
        "total_episodes": 4,
        "save_every": 1,
        "max_prompt_tokens": 96,
        "learning_rate": 1e-4,
    },
}


def fable_lines(n: int) -> list[str]:
    lines = (SHARED_DATA / "fables.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    rows = [json.loads(line) for line in lines]
    # Short texts keep the tiny model's sequences short.
    return [json.dumps({**r, "text": r["text"][:300], "reference": r["reference"][:200]}) for r in rows]


@pytest.fixture
def fable_project(make_project, researcher):
    project = make_project(pairs=0, overlap=2, gold_rate=0.0)
    prompts_import(project=project, lines=fable_lines(8))
    return project


def round_finish_as_phases_do(
    r: TrainingRound, *, accuracy: float, n: int, score: float, kl: float, folder=None, rows=None
) -> None:
    """Store what reward training, PPO and evaluation store when they finish."""
    new = Policy.objects.create(project=r.project, name=f"ppo-round-{r.number}", kind=PolicyKind.TRAINED,
                                artifact_path="/models/x", parent=r.policy)  # fmt: skip
    rm = RewardModel.objects.create(
        project=r.project, name=f"rm-round-{r.number}", training_round=r, parent_policy=r.initial_policy,
        artifact_path="/models/rm", metrics={"heldout": {"accuracy": accuracy, "n": n,
                                                         "ci95": list(wilson_interval(accuracy * n, n))},
                                             "train_pairs": 10, "batches": [r.batch]},
    )  # fmt: skip
    evaluation = {"prompts": 2, "rm_score_new": score, "rm_score_previous": score - 0.5, "kl_vs_previous": kl,
                  "kl_vs_initial": kl, "human_eval_pairs": 0}  # fmt: skip
    if rows is not None:
        evaluation["samples_file"] = str(evaluation_samples_write(folder=folder, **rows))
    TrainingRound.objects.filter(id=r.id).update(
        state=RoundState.DONE, reward_model=rm, new_policy=new, finished_at=clock.now(), progress_percent=95.0,
        metrics={"ppo": {"curve": [{"step": 1, "score": score - 0.2, "kl": 0.0}, {"step": 2, "score": score, "kl": kl}]},
                 "evaluation": evaluation},
    )  # fmt: skip
