"""A real Celery worker in a subprocess, on the test database, for tests of asynchronous work.

Use the fixture by importing it into a test module (``from tests.celery_worker import celery_worker_process``)
or call ``start_celery_worker`` directly. Needs ``transactional_db`` (the worker only sees committed rows) and
a Redis broker in CELERY_BROKER_URL. Queue names get a per-worker suffix so concurrent test runs sharing one
Redis database never take each other's tasks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60


@dataclass
class CeleryWorker:
    process: subprocess.Popen
    queues: dict[str, str]  # configured name -> isolated name the worker consumes
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    # settings_dict["NAME"] is the test database's name once pytest-django has created it.
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@contextlib.contextmanager
def _route_to(mapping: dict[str, str]) -> Iterator[None]:
    """Make this process publish to the isolated queue names while the worker runs."""
    from config.celery import app

    conf = app.conf
    saved_default, saved_routes = conf.task_default_queue, conf.task_routes
    routes = {}
    for pattern, route in (saved_routes or {}).items():
        queue = route.get("queue") if isinstance(route, dict) else route
        routes[pattern] = (
            {**route, "queue": mapping.get(queue, queue)} if isinstance(route, dict) else mapping.get(route, route)
        )
    conf.task_default_queue = mapping.get(saved_default, saved_default)
    conf.task_routes = routes
    app.amqp.flush_routes()
    app.amqp.router = app.amqp.Router()
    try:
        yield
    finally:
        conf.task_default_queue, conf.task_routes = saved_default, saved_routes
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()


@contextlib.contextmanager
def start_celery_worker(
    *,
    queues: Sequence[str] = ("default",),
    log_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    token: str | None = None,
    broker: str | None = None,
    beat: bool = False,
) -> Iterator[CeleryWorker]:
    """Start `celery -A config worker` on the test database; stop it on exit. Fails with the worker's log.

    The worker also publishes to the isolated names (tasks that enqueue follow-up tasks stay in this test);
    passing the `token` of an earlier worker makes a new one take over its queues. `broker` overrides the
    settings' broker (a private redis-server of a fault test); `beat` embeds Celery beat (-B: the sweepers).
    """
    broker = broker or settings.CELERY_BROKER_URL
    if not broker.startswith("redis://"):
        pytest.skip("a live Celery worker test needs CELERY_BROKER_URL=redis://...")
    token = token or uuid.uuid4().hex[:10]
    mapping = {q: f"{q}.{token}" for q in queues}
    name = f"test-{token}-{uuid.uuid4().hex[:4]}"
    log_path = (log_dir or Path(settings.ARTIFACT_DIR)) / f"celery-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "HF_HUB_OFFLINE": "1",
        "CELERY_TASK_DEFAULT_QUEUE": mapping.get("default", "default"),
        "ARBITER_GPU_QUEUE": mapping.get("gpu", "gpu"),
        # One torch thread: beside the test process, spinning OpenMP threads slow tiny models down many times.
        "OMP_NUM_THREADS": "1",
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=solo", "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-Q", ",".join(mapping.values()), "-n", f"{name}@%h", "--loglevel=INFO",
    ]  # fmt: skip
    if beat:
        command += ["-B", "-s", str(log_path.with_suffix(".beat-schedule"))]
    with open(log_path, "wb") as log_file:
        # With beat, the worker forks a beat process: its own session lets a test SIGKILL both as a machine dies
        # (os.killpg), so no orphaned beat outlives the test.
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=beat
        )
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
        if beat:  # whatever of its session is left (its beat, if the worker was SIGKILLed)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def celery_worker_process(transactional_db) -> Iterator[CeleryWorker]:
    """A live worker consuming the default queue of this test's database."""
    with start_celery_worker() as worker:
        yield worker


def wait_until(predicate, *, timeout: float = 60.0, interval: float = 0.2, message: str = "condition") -> None:
    """Poll `predicate()` until it is true; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout} s waiting for {message}")
        time.sleep(interval)
