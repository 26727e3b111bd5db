"""Smoke test of the embedded defaults: SQLite and the filesystem broker, with no environment set."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

LABEL_ONE_PAIR = """
from rest_framework.test import APIClient
from django.conf import settings
from django.contrib.auth import get_user_model
from labeling.models import Comparison
assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), settings.DATABASES
assert settings.CELERY_BROKER_URL.startswith("filesystem://")
client = APIClient(SERVER_NAME="localhost")
assert client.login(username="labeler", password="arbiter-demo")
shown = client.post("/api/v1/projects/fables/next/", {}, format="json").json()
done = client.post(f"/api/v1/assignments/{shown['assignment_id']}/submit/", {"choice": "a", "confidence": 3}, format="json")
assert done.status_code == 201, done.content
print("comparisons", Comparison.objects.count())
"""


def test_embedded_defaults_migrate_load_demo_and_label(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_SETTINGS"))}
    env["ARBITER_DATA_DIR"] = str(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "--noinput", "-v0")
    assert "demo accounts" in manage("load_demo")
    assert "comparisons 1" in manage("shell", "-c", LABEL_ONE_PAIR)
    assert (tmp_path / "arbiter.sqlite3").is_file()
