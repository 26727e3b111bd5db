"""The API says what it does: schemathesis fuzzes every operation of the OpenAPI schema against a live gunicorn
(several workers, the test database) with a researcher's and a labeler's token. No 5xx, no response that
breaks the schema, no undocumented status code or content type. Bounded: about a minute per role."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from labeling.models import Role
from labeling.services.accounts import token_create
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, comparison_submit
from tests.celery_worker import _database_url
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db(transaction=True)
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SECONDS_PER_ROLE = int(os.environ.get("ARBITER_SCHEMATHESIS_SECONDS", "45"))
SEED = os.environ.get("ARBITER_SCHEMATHESIS_SEED", "14")


@contextlib.contextmanager
def gunicorn_on_test_database(log_path: Path) -> Iterator[str]:
    """gunicorn with 3 workers on a free port (bound to port 0), serving the test database; yields its URL."""
    suffix = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        # The fuzzer is far faster than any labeler: lift the per-user throttle for this server only.
        "ARBITER_THROTTLE_USER": "1000000/min",
        # Jobs the fuzzer starts (exports, rounds) go to queues nobody consumes.
        "CELERY_TASK_DEFAULT_QUEUE": f"schemathesis-{suffix}",
        "ARBITER_GPU_QUEUE": f"schemathesis-gpu-{suffix}",
    }
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", "127.0.0.1:0",
               "--workers", "3", "--timeout", "150", "--log-level", "info"]  # fmt: skip
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url, deadline = None, time.time() + 60
        while url is None and time.time() < deadline:
            assert server.poll() is None, log_path.read_text()
            if found := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log_path.read_text()):
                url = found.group(1)
            time.sleep(0.2)
        assert url, log_path.read_text()
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{url}/api/v1/schema/?format=json", timeout=5)
                break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def fuzz(url: str, token: str, *, workdir: Path, project: str, comparison: int, assignment: int) -> str:
    """One bounded schemathesis run; path parameters that name real objects are pinned, the rest generated."""
    config = workdir / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.slug" = "{project}"\n'
        f'"path.comparison_id" = {comparison}\n'
        f'"path.assignment_id" = {assignment}\n'
    )
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
        f"{url}/api/v1/schema/?format=json", "--url", url, "-H", f"Authorization: Token {token}",
        "--checks", CHECKS, "--max-time", str(SECONDS_PER_ROLE), "--max-examples", "25", "--workers", "2",
        "--seed", SEED, "--generation-database", "none", "--no-color", "--request-timeout", "120",
        "--phases", "examples,coverage,fuzzing", "--exclude-path-regex", "/download/|/files/",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=SECONDS_PER_ROLE * 3 + 60)
    output = result.stdout + result.stderr
    (workdir / "schemathesis.out").write_text(output)
    assert result.returncode == 0, output[-20_000:]
    return output


def test_schemathesis_finds_no_server_errors_or_schema_violations(make_user, make_project, researcher, tmp_path):
    labeler = make_user(Role.LABELER)
    project = make_project(pairs=20, gold_rate=0, members=[labeler], slug="fuzzed")
    lease = assignment_next(project=project, labeler=labeler)
    comparison = comparison_submit(assignment_id=lease.id, labeler=labeler, judgment=Judgment(choice="a"))
    open_lease = assignment_next(project=project, labeler=labeler)
    with gunicorn_on_test_database(tmp_path / "gunicorn.log") as url:
        for role, user in (("labeler", labeler), ("researcher", researcher)):
            workdir = tmp_path / role
            workdir.mkdir()
            output = fuzz(
                url,
                token_create(user=user).key,
                workdir=workdir,
                project=project.slug,
                comparison=comparison.id,
                assignment=open_lease.id,
            )
            assert "No issues found" in output or "passed" in output, output[-5000:]
