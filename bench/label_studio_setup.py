"""Run by Label Studio's own Python (its venv, its Django): an organisation, labelers with API tokens, and a
pairwise project of N tasks (a prompt, two answers of about 1,200 characters, overlap 3). Prints JSON
{"project": id, "tokens": [...]} as the last line of its output.

    LS_PYTHON bench/label_studio_setup.py --tasks 100000 --labelers 24 --overlap 3
(with DJANGO_SETTINGS_MODULE=core.settings.label_studio and the label_studio package directory as cwd)
"""

from __future__ import annotations

import argparse
import json
import os
import sys

PAIRWISE_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <Pairwise name="comparison" toName="answer1,answer2"/>
  <Text name="answer1" value="$answer1"/>
  <Text name="answer2" value="$answer2"/>
</View>"""
CHUNK = 5_000


def bench_texts(i: int) -> dict[str, str]:
    """The same prompt and answers the Arbiter side loads (bench/labeling_setup.py)."""
    return {
        "prompt": f"Bench prompt {i}: " + f"Summarise the passage about topic {i} in one sentence. " * 8,
        "answer1": f"Answer A to {i}: " + "a plain, careful summary of the passage. " * 29,
        "answer2": f"Answer B to {i}: " + "a shorter, looser take on the passage. " * 30,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--labelers", type=int, required=True)
    parser.add_argument("--overlap", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, os.getcwd())
    import django

    django.setup()
    from organizations.functions import create_organization
    from projects.models import Project
    from rest_framework.authtoken.models import Token
    from tasks.models import Task
    from users.models import User

    owner = User.objects.create_user(email="owner@bench.example", username="owner", password="bench-password-1")
    org = create_organization(title="bench", created_by=owner, legacy_api_tokens_enabled=True)
    owner.active_organization = org
    owner.save(update_fields=["active_organization"])
    project = Project.objects.create(
        title="bench",
        organization=org,
        created_by=owner,
        label_config=PAIRWISE_CONFIG,
        maximum_annotations=args.overlap,
    )
    for lo in range(0, args.tasks, CHUNK):
        hi = min(lo + CHUNK, args.tasks)
        Task.objects.bulk_create(
            [Task(project=project, data=bench_texts(i), overlap=args.overlap) for i in range(lo, hi)]
        )
    tokens = []
    for i in range(args.labelers):
        user = User.objects.create_user(
            email=f"labeler{i}@bench.example", username=f"labeler{i}", password="bench-password-1"
        )
        org.add_user(user)
        user.active_organization = org
        user.save(update_fields=["active_organization"])
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    print(json.dumps({"project": project.id, "tokens": tokens}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
