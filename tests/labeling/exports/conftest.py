"""Judgments made through the API by several labelers, remembered as each labeler saw them."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from labeling.models import Project

TIE = "tie"


@dataclass(frozen=True)
class Judged:
    username: str
    labeler_id: int
    prompt: str
    left: str
    right: str
    picked: str  # the response text the labeler picked, or "tie"
    shown_choice: str
    shown_confidence: int


def _pick(rng: random.Random, left: str, right: str) -> tuple[str, str, int]:
    """Prefer 'summary A' 60% of the time, wherever it is displayed, so pairs reach real majorities."""
    a_text = left if "summary A" in left else right
    b_text = right if a_text == left else left
    draw = rng.random()
    picked = a_text if draw < 0.6 else b_text if draw < 0.9 else TIE
    if picked == TIE:
        return TIE, "tie", 5
    shown = "a" if picked == left else "b"
    confidence = rng.choice([1, 2, 3, 4]) if shown == "a" else rng.choice([6, 7, 8, 9])
    return picked, shown, confidence


def judge_all(*, project: Project, labelers, api_client_for, seed: int = 0) -> list[Judged]:
    """Each labeler takes pairs from /next/ and submits until the queue is empty."""
    judged = []
    for index, labeler in enumerate(labelers):
        client = api_client_for(labeler)
        rng = random.Random(seed * 1000 + index)
        while True:
            response = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json")
            if response.status_code == 404:
                assert response.json()["code"] == "queue_empty", response.json()
                break
            assert response.status_code == 200, response.json()
            shown = response.json()
            picked, choice, confidence = _pick(rng, shown["response_left"], shown["response_right"])
            submit = client.post(
                f"/api/v1/assignments/{shown['assignment_id']}/submit/",
                {"choice": choice, "confidence": confidence, "time_spent_ms": 1200},
                format="json",
            )
            assert submit.status_code == 201, submit.json()
            judged.append(Judged(
                labeler.username, labeler.id, shown["prompt"], shown["response_left"], shown["response_right"],
                picked, choice, confidence,
            ))  # fmt: skip
    return judged


@pytest.fixture
def judged_project(make_project, make_user, api_client_for):
    """12 pairs, overlap 3, three labelers who judged everything through the API."""
    labelers = [make_user() for _ in range(3)]
    project = make_project(pairs=12, members=labelers, overlap=3, gold_rate=0.0)
    judged = judge_all(project=project, labelers=labelers, api_client_for=api_client_for)
    assert len(judged) == 36
    return project, labelers, judged
