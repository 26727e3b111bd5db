"""Fixtures for training rounds: a project with fable prompts and human references, tiny round settings."""

from __future__ import annotations

import json

import pytest

from labeling.services.imports import prompts_import
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
