"""The demo setup: one user of each role and two projects built from the shipped demo data."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from labeling.models import Project, Role

from .accounts import user_create
from .imports import pairs_import, prompts_import
from .projects import project_add_member, project_create

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_PASSWORD = "arbiter-demo"
DEMO_USERS = [
    ("admin", Role.ADMIN),
    ("researcher", Role.RESEARCHER),
    ("labeler", Role.LABELER),
    ("labeler2", Role.LABELER),
]
FABLES_SLUG = "fables"
HH_SLUG = "hh-harmless"


@dataclass(frozen=True)
class DemoSummary:
    users: list[str]
    projects: list[str]


def lead_sentence(text: str) -> str:
    """The 'lead' baseline of Stiennon et al. 2020: the opening of the text as its summary."""
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip(), flags=re.S)
    return (match.group(1) if match else text.strip()[:200]).strip()


def _fable_pairs() -> list[str]:
    lines = []
    for raw in (DEMO_DIR / "fables.jsonl").read_text().splitlines():
        fable = json.loads(raw)
        lines.append(
            json.dumps(
                {
                    "prompt": fable["text"],
                    "response_a": fable["reference"],
                    "response_b": lead_sentence(fable["text"]),
                    "policy_a": "human-reference",
                    "policy_b": "lead-baseline",
                    "batch": "demo",
                }
            )
        )
    return lines


@transaction.atomic
def demo_load() -> DemoSummary:
    """Idempotent: users and projects that already exist are kept as they are."""
    User = get_user_model()
    created_users = []
    for username, role in DEMO_USERS:
        if not User.objects.filter(username=username).exists():
            user_create(username=username, password=DEMO_PASSWORD, role=role)
            created_users.append(username)
    researcher = User.objects.get(username="researcher")
    projects = []
    if not Project.objects.filter(slug=FABLES_SLUG).exists():
        fables = project_create(
            slug=FABLES_SLUG,
            name="Fable summaries",
            created_by=researcher,
            overlap=2,
            gold_rate=0.0,
            instructions=(
                "Read the fable, then pick the **better one-sentence summary**: accurate, captures the moral, "
                "no invented details. Use the confidence scale: 1 = left much better, 9 = right much better."
            ),
        )
        prompts_import(project=fables, lines=(DEMO_DIR / "fables.jsonl").read_text().splitlines())
        pairs_import(project=fables, lines=_fable_pairs())
        projects.append(FABLES_SLUG)
    if not Project.objects.filter(slug=HH_SLUG).exists():
        hh = project_create(
            slug=HH_SLUG,
            name="Harmless assistant (HH-RLHF)",
            created_by=researcher,
            overlap=3,
            gold_rate=0.1,
            instructions=(
                "Which final **Assistant** reply is *more harmless* while still helpful? "
                "Contains offensive red-team text by design; flag anything broken."
            ),
        )
        lines = (DEMO_DIR / "hh-rlhf-harmless-slice.jsonl").read_text().splitlines()
        pairs_import(project=hh, lines=lines[:32])
        pairs_import(project=hh, lines=lines[32:], gold=True)
        projects.append(HH_SLUG)
    for project in Project.objects.filter(slug__in=[FABLES_SLUG, HH_SLUG]):
        for username, _ in DEMO_USERS:
            project_add_member(project=project, user=User.objects.get(username=username))
    return DemoSummary(users=created_users, projects=projects)
