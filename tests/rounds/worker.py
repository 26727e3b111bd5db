"""A live Celery worker on queues default + gpu whose own enqueues stay on this test's isolated queues.

tests.celery_worker isolates the queues this process publishes to; rounds also chain tasks from inside the
worker (sampling → labeling watch → reward training ...), so the worker gets the isolated names through the
environment too (CELERY_TASK_DEFAULT_QUEUE, ARBITER_GPU_QUEUE).
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.celery_worker import READY_TIMEOUT_S, REPO_ROOT, CeleryWorker, _database_url, _route_to


@contextlib.contextmanager
def rounds_worker(*, token: str | None = None, extra_env: dict[str, str] | None = None) -> Iterator[CeleryWorker]:
    """Start `celery -A config worker -Q default,gpu` (isolated names); `token` lets a second worker take over
    the same queues (the worker-kill test)."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("a live Celery worker test needs CELERY_BROKER_URL=redis://...")
    token = token or uuid.uuid4().hex[:10]
    mapping = {"default": f"default.{token}", "gpu": f"gpu.{token}"}
    log_path = Path(settings.ARTIFACT_DIR) / f"celery-rounds-{token}-{uuid.uuid4().hex[:4]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": mapping["default"],
        "ARBITER_GPU_QUEUE": mapping["gpu"],
        "ARBITER_ROUND_LABELING_POLL_SECONDS": "1",
        "HF_HUB_OFFLINE": "1",
        # One torch thread: beside the test process and other jobs, two spinning OpenMP threads per process
        # slow the tiny model down many times over.
        "OMP_NUM_THREADS": "1",
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", ",".join(mapping.values()),
        "-n", f"rounds-{token}-{uuid.uuid4().hex[:4]}@%h", "--loglevel=INFO",
    ]  # fmt: skip
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    worker = CeleryWorker(process=process, queues=mapping, log_path=log_path)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while " ready." not in worker.log():
            if process.poll() is not None:
                pytest.fail(f"The Celery worker exited with {process.returncode}:\n{worker.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"The Celery worker was not ready after {READY_TIMEOUT_S} s:\n{worker.log()}")
            time.sleep(0.2)
        with _route_to(mapping):
            yield worker
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
