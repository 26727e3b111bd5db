"""The embedded default under load: 30 labelers for 30 s against gunicorn (3 workers) on one SQLite file.
No response may be a 5xx, and the same invariants as the PostgreSQL concurrency test must hold."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import requests

from tests.fault_tools import REPO_ROOT, child_environment, gunicorn_server, logged_in_session

LABELERS, SECONDS, OVERLAP, PAIRS = 30, 30.0, 3, 600
PASSWORD = "load-test-password-1"
SLUG = "load"

SETUP = f"""
from labeling.models import Role
from labeling.services.accounts import user_create
from labeling.services.imports import pairs_import
from labeling.services.projects import project_add_member, project_create
from tests.conftest import pair_lines
owner = user_create(username="owner", password={PASSWORD!r}, role=Role.RESEARCHER)
project = project_create(slug={SLUG!r}, created_by=owner, overlap={OVERLAP}, gold_rate=0)
pairs_import(project=project, lines=pair_lines({PAIRS}))
for i in range({LABELERS}):
    project_add_member(project=project, user=user_create(username=f"l{{i}}", password={PASSWORD!r}, role=Role.LABELER))
"""

INTEGRITY = f"""
import json
from collections import Counter
from labeling.models import Assignment, Comparison, Pair
per_pair = Counter(Comparison.objects.filter(pair__project__slug={SLUG!r}).values_list("pair_id", flat=True))
open_per_pair = Counter(
    Assignment.objects.filter(pair__project__slug={SLUG!r}, status="open").values_list("pair_id", flat=True)
)
pairs = list(Pair.objects.filter(project__slug={SLUG!r}).values("id", "submitted_count", "leased_count"))
print(json.dumps({{
    "comparison_ids": sorted(Comparison.objects.filter(pair__project__slug={SLUG!r}).values_list("id", flat=True)),
    "per_pair": {{str(k): v for k, v in per_pair.items()}},
    "open_per_pair": {{str(k): v for k, v in open_per_pair.items()}},
    "pairs": pairs,
    "judged": list(Comparison.objects.filter(pair__project__slug={SLUG!r}).values_list("labeler_id", "pair_id")),
}}))
"""


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


@pytest.mark.timeout(600)
def test_thirty_labelers_on_sqlite_over_gunicorn_get_no_server_errors(tmp_path):
    import json

    env = child_environment(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "0",
            "ARBITER_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'arbiter.sqlite3'}",
            # Every labeler may hold a lease while others submit; the default of 3 is per labeler anyway.
            "ARBITER_LOG_LEVEL": "ERROR",
        }
    )
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "shell", "-c", SETUP)

    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    acknowledged: list[int] = []
    crashed: list[BaseException] = []
    lock = threading.Lock()

    with gunicorn_server(env=env, log_path=tmp_path / "gunicorn.log", workers=3) as server:
        sessions = [logged_in_session(server.url, f"l{i}", PASSWORD) for i in range(LABELERS)]
        start = threading.Barrier(LABELERS)

        def call(session: requests.Session, path: str, body: dict) -> requests.Response:
            response = session.post(f"{server.url}{path}", json=body, timeout=120)
            with lock:
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(f"{path} {response.status_code} {response.text[:120]!r}")
            return response

        def labeler(index: int) -> None:
            session = sessions[index]
            try:
                start.wait()
                deadline = time.monotonic() + SECONDS
                while time.monotonic() < deadline:
                    shown = call(session, f"/api/v1/projects/{SLUG}/next/", {})
                    if shown.status_code != 200:
                        time.sleep(0.2 if shown.status_code in (404, 409, 429) else 0.5)
                        continue
                    assignment = shown.json()["assignment_id"]
                    if (index + assignment) % 11 == 0:
                        call(session, f"/api/v1/assignments/{assignment}/skip/", {})
                        continue
                    done = call(session, f"/api/v1/assignments/{assignment}/submit/", {"choice": "a", "confidence": 3})
                    if done.status_code == 201:
                        with lock:
                            acknowledged.append(done.json()["comparison_id"])
            except BaseException as exc:
                crashed.append(exc)

        threads = [threading.Thread(target=labeler, args=(i,)) for i in range(LABELERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 180)
        server_log = server.log()

    assert not crashed, crashed
    assert not server_errors, f"{len(server_errors)} server errors of {sum(statuses.values())}: {server_errors[:5]}"
    assert statuses[201] >= LABELERS, f"too little labeling happened to test anything: {dict(statuses)}"
    assert "database is locked" not in server_log, server_log[-3000:]

    state = json.loads(_manage(env, "shell", "-c", INTEGRITY).strip().splitlines()[-1])
    per_pair, open_per_pair = state["per_pair"], state["open_per_pair"]
    assert max(per_pair.values()) <= OVERLAP
    for pair in state["pairs"]:
        key = str(pair["id"])
        assert pair["submitted_count"] == per_pair.get(key, 0), pair
        assert pair["leased_count"] == open_per_pair.get(key, 0), pair
    assert max(Counter(map(tuple, state["judged"])).values()) == 1, "a labeler judged the same pair twice"
    assert sorted(acknowledged) == state["comparison_ids"], "an acknowledged judgment is missing, or one was not acked"
    print(f"statuses {dict(statuses)}")
