"""Simulated labelers (clearly marked: usernames start with `sim-`) that judge pairs through the real labeling API.

They answer by an oracle with configurable noise, so the loop can be demonstrated and tested without people.
Their comparisons are ordinary rows: exports, agreement and training treat them exactly like humans'.
"""

from __future__ import annotations

import json
import math
import random
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.contrib.auth import get_user_model

from labeling.models import Project, Role
from labeling.services.accounts import token_create, user_create
from labeling.services.projects import project_add_member

SIM_PREFIX = "sim-"
Oracle = Callable[[str, str, str], float]
_WORD = re.compile(r"[a-z']{4,}")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def shorter_on_topic_score(prompt: str, response: str) -> float:
    """Higher for short responses whose words come from the prompt: on-topic words minus a length cost."""
    words = response.split()
    if not words:
        return -10.0
    topic = _words(prompt)
    on_topic = sum(1 for w in _words(response) if w in topic)
    return on_topic / math.sqrt(len(words)) - 0.05 * len(words)


def shorter_oracle(prompt: str, left: str, right: str) -> float:
    """> 0 when the left response is better."""
    return shorter_on_topic_score(prompt, left) - shorter_on_topic_score(prompt, right)


def reward_model_oracle(model_dir: Path) -> Oracle:
    """A fixed "gold" reward model as the oracle."""
    from rounds import ml_bridge

    def judge(prompt: str, left: str, right: str) -> float:
        left_score, right_score = ml_bridge.responses_score(
            reward_model=model_dir, prompts=[prompt, prompt], responses=[left, right]
        )
        return left_score - right_score

    return judge


class Transport(Protocol):
    def post(self, path: str, data: dict[str, Any]) -> tuple[int, dict]: ...


class InProcessTransport:
    """DRF's test client with real token authentication: the same views, serializers and services as HTTP."""

    def __init__(self, token: str) -> None:
        from django.conf import settings
        from rest_framework.test import APIClient

        # Requests must name a host the site accepts, as a browser's would (the test server's name is not).
        hosts = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h and "*" not in h]
        self.client = APIClient(HTTP_HOST=hosts[0] if hosts else "localhost")
        self.client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    def post(self, path: str, data: dict[str, Any]) -> tuple[int, dict]:
        response = _unthrottled(lambda: self.client.post(path, data, format="json"))
        return response.status_code, _body(response.status_code, response.headers, response.content)


class HttpTransport:
    """`requests` against a running server."""

    def __init__(self, base_url: str, token: str) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def post(self, path: str, data: dict[str, Any]) -> tuple[int, dict]:
        response = _unthrottled(lambda: self.session.post(self.base_url + path, json=data, timeout=60))
        return response.status_code, _body(response.status_code, response.headers, response.content)


def _unthrottled(send: Callable[[], Any], *, attempts: int = 20):
    """A simulated labeler is faster than a person: on 429 wait as the API's Retry-After says, then resend."""
    for _ in range(attempts):
        response = send()
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After") or 1))
    return response


def _body(status: int, headers, content: bytes) -> dict:
    if not content:
        return {}
    if "json" not in headers.get("Content-Type", ""):
        raise RuntimeError(f"The labeling API answered {status} with non-JSON content: {content[:200]!r}")
    return json.loads(content)


@dataclass
class SimulatedLabeler:
    username: str
    transport: Transport
    rng: random.Random
    submitted: int = 0
    done: bool = False
    flip_rate: float = 0.0


@dataclass
class SimulationReport:
    labelers: list[str]
    submitted: int
    per_labeler: dict[str, int] = field(default_factory=dict)
    flipped: int = 0


def simulated_labeler_ensure(*, project: Project, index: int):
    """The `sim-labeler-<index>` user (role labeler), created on first use and made a project member."""
    username = f"{SIM_PREFIX}labeler-{index}"
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        user = user_create(username=username, password=secrets.token_urlsafe(16), role=Role.LABELER)
    project_add_member(project=project, user=user)
    return user


def judgment_for(preference: float, project: Project, *, allow_tie: bool) -> dict[str, Any]:
    """A choice and a confidence on the project's scale (low = left better) for an oracle's preference."""
    low, high = project.confidence_min, project.confidence_max
    mid = (low + high) / 2
    if preference == 0 and allow_tie:
        return {"choice": "tie"}
    strong = abs(preference) >= 1.0
    if preference > 0:
        return {"choice": "a", "confidence": low if strong else math.ceil(mid) - 1}
    return {"choice": "b", "confidence": high if strong else math.floor(mid) + 1}


def simulated_preference(difference: float, *, tau: float, flip_rate: float, rng: random.Random) -> tuple[float, bool]:
    """(preference, flipped) of one simulated judgment of a pair whose oracle scores differ by `difference`
    (left − right). With tau > 0 the labeler picks left with P = σ(difference / τ) (Bradley–Terry), and the
    preference's size says how sure it was (≥ 1 is a confident answer); with tau = 0 it follows the oracle's
    sign. Then the answer is flipped with probability `flip_rate`."""
    preference = difference
    if tau > 0:
        p_left = 0.5 * (1.0 + math.tanh(difference / (2.0 * tau)))  # σ(d/τ) without overflow
        left = rng.random() < p_left
        sureness = 2.0 * abs((p_left if left else 1.0 - p_left) - 0.5) * 2.0
        preference = max(sureness, 1e-6) * (1.0 if left else -1.0)
    flipped = rng.random() < flip_rate
    return (-preference if flipped else preference), flipped


def simulated_labelers_run(
    *,
    project: Project,
    labelers: int,
    noise: float | Sequence[float],
    oracle: str | Oracle = "shorter",
    tau: float = 0.0,
    limit: int | None = None,
    base_url: str | None = None,
    seed: int = 0,
    on_submit: Callable[[int], None] | None = None,
) -> SimulationReport:
    """Let `labelers` simulated labelers take turns: next pair → oracle (Bradley–Terry choice at temperature
    `tau`, then flipped with probability `noise`, one per labeler or one for all) → submit, until the queue is
    empty for all of them or `limit` judgments were submitted."""
    if labelers < 1:
        raise ValueError("at least one simulated labeler is needed")
    flip_rates = [float(noise)] * labelers if isinstance(noise, (int, float)) else [float(n) for n in noise]
    if len(flip_rates) != labelers:
        raise ValueError(f"{len(flip_rates)} flip rates for {labelers} labelers; give one, or one per labeler")
    if not all(0 <= n <= 1 for n in flip_rates):
        raise ValueError("noise must be a probability in [0, 1]")
    if tau < 0 or not math.isfinite(tau):
        raise ValueError("tau must be a finite number >= 0")
    judge = shorter_oracle if oracle == "shorter" else oracle
    if not callable(judge):
        raise ValueError(f"unknown oracle {oracle!r}")
    crowd = []
    for index in range(1, labelers + 1):
        user = simulated_labeler_ensure(project=project, index=index)
        token = token_create(user=user).key
        transport = HttpTransport(base_url, token) if base_url else InProcessTransport(token)
        crowd.append(
            SimulatedLabeler(
                user.username, transport, random.Random(seed * 1_000 + index), flip_rate=flip_rates[index - 1]
            )
        )
    report = SimulationReport(labelers=[c.username for c in crowd], submitted=0)
    while not all(c.done for c in crowd) and (limit is None or report.submitted < limit):
        for labeler in crowd:
            if labeler.done or (limit is not None and report.submitted >= limit):
                continue
            status, body = labeler.transport.post(f"/api/v1/projects/{project.slug}/next/", {})
            if status != 200:
                if body.get("code") != "queue_empty" and status != 404:
                    raise RuntimeError(f"{labeler.username}: next pair failed ({status}): {body}")
                labeler.done = True
                continue
            difference = judge(body["prompt"], body["response_left"], body["response_right"])
            preference, flipped = simulated_preference(
                difference, tau=tau, flip_rate=labeler.flip_rate, rng=labeler.rng
            )
            report.flipped += flipped
            judgment = judgment_for(preference, project, allow_tie=project.allow_tie)
            status, answer = labeler.transport.post(
                f"/api/v1/assignments/{body['assignment_id']}/submit/",
                {**judgment, "rationale": "simulated labeler", "time_spent_ms": 1000},
            )
            if status != 201:
                raise RuntimeError(f"{labeler.username}: submit failed ({status}): {answer}")
            labeler.submitted += 1
            report.submitted += 1
            if on_submit is not None:
                on_submit(report.submitted)
    report.per_labeler = {c.username: c.submitted for c in crowd}
    return report
