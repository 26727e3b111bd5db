"""Round phases under broker faults and duplicate requests, against gunicorn and a private redis-server: an
unreachable broker is a 503 with the round kept, waiting for a worker; start or resume of a queued or running
phase is a 409 and queues nothing; the sweeper re-queues a stalled phase once even when two sweeps run."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis as redis_client
from django.conf import settings as django_settings

from common import clock
from rounds.models import RoundState, TrainingRound
from rounds.services.lifecycle import round_create, round_start
from rounds.services.sweeper import SWEEP_REASON, rounds_sweep
from tests.celery_worker import _database_url, _route_to
from tests.conftest import PASSWORD
from tests.fault_tools import PrivateRedis, child_environment, gunicorn_server, logged_in_session
from tests.together import run_together

from .conftest import TINY_SETTINGS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def test_start_with_the_broker_down_is_a_503_and_the_round_waits_for_a_worker(fable_project, researcher, tmp_path):
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    broker = PrivateRedis(tmp_path)  # not started yet: its port is closed
    gpu_queue = f"gpu.{uuid.uuid4().hex[:8]}"
    env = child_environment({
        "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker.url, "ARBITER_GPU_QUEUE": gpu_queue,
    })  # fmt: skip
    base = f"/api/v1/projects/{fable_project.slug}/rounds/{r.number}"
    try:
        with gunicorn_server(env=env, log_path=tmp_path / "gunicorn.log", workers=2) as server:
            web = logged_in_session(server.url, researcher.username, PASSWORD)
            started = web.post(f"{server.url}{base}/start/", json={}, timeout=60)
            assert started.status_code == 503, started.text[:500]
            assert started.json()["code"] == "broker_unavailable"
            r.refresh_from_db()
            assert r.state == RoundState.SAMPLING and r.enqueue_error, (r.state, r.enqueue_error)
            status = web.get(f"{server.url}{base}/", timeout=60).json()
            assert status["waiting_for_worker"] is True and status["state"] == RoundState.SAMPLING
            assert web.post(f"{server.url}{base}/resume/", json={}, timeout=60).status_code == 503

            broker.start()
            queued = redis_client.Redis.from_url(broker.url)
            resumed = web.post(f"{server.url}{base}/resume/", json={}, timeout=60)
            assert resumed.status_code == 200, resumed.text[:500]
            assert resumed.json()["waiting_for_worker"] is False
            assert queued.llen(gpu_queue) == 1

            # The phase is queued now: neither resume nor start queues a second task.
            again = web.post(f"{server.url}{base}/resume/", json={}, timeout=60)
            assert again.status_code == 409 and "waiting for a worker" in again.json()["detail"], again.text
            assert web.post(f"{server.url}{base}/start/", json={}, timeout=60).status_code == 409
            # A worker claims the phase and reports progress: still 409.
            TrainingRound.objects.filter(id=r.id).update(running_task_id="a-live-task", progress_updated_at=clock.now())
            running = web.post(f"{server.url}{base}/resume/", json={}, timeout=60)
            assert running.status_code == 409 and "is running" in running.json()["detail"], running.text
            assert queued.llen(gpu_queue) == 1
    finally:
        broker.stop()


def test_two_sweeps_requeue_a_stalled_phase_once_then_fail_it_with_a_reason(fable_project, researcher, settings):
    settings.ARBITER = {**django_settings.ARBITER, "SWEEP_MAX_REQUEUES": 1}
    gpu_queue = f"gpu.{uuid.uuid4().hex[:8]}"
    shared = redis_client.Redis.from_url(django_settings.CELERY_BROKER_URL)
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    with _route_to({"gpu": gpu_queue}):
        try:
            round_start(training_round=r, actor=researcher)
            assert shared.llen(gpu_queue) == 1
            assert rounds_sweep().requeued == []  # queued a moment ago: not stalled
            # Queued for an hour behind other training on the one GPU worker, never claimed: waiting, not lost.
            TrainingRound.objects.filter(id=r.id).update(progress_updated_at=clock.now() - timedelta(hours=1))
            assert rounds_sweep().requeued == [] and shared.llen(gpu_queue) == 1

            def stall() -> None:
                TrainingRound.objects.filter(id=r.id).update(
                    running_task_id="dead-task", progress_updated_at=clock.now() - timedelta(hours=1)
                )

            stall()
            reports = run_together([rounds_sweep, rounds_sweep], timeout=60)
            assert sorted(len(report.requeued) for report in reports) == [0, 1]
            assert shared.llen(gpu_queue) == 2  # the start's message and one requeue
            r.refresh_from_db()
            assert r.state == RoundState.SAMPLING and r.running_task_id == ""
            assert r.transitions.last().reason.startswith(SWEEP_REASON)

            stall()  # its worker died again: past SWEEP_MAX_REQUEUES the round fails, resumable
            assert rounds_sweep().failed == [r.id]
            r.refresh_from_db()
            assert r.state == RoundState.FAILED and r.failed_in == RoundState.SAMPLING
            assert "Resume" in r.error and shared.llen(gpu_queue) == 2
        finally:
            shared.delete(gpu_queue)
