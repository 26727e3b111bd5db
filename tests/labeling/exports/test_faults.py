"""Exports under broker and worker faults, with real components: a private redis-server stopped under a live
worker and a gunicorn web server, and a worker SIGKILLed mid-export that the sweeper (beat) recovers from."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from django.db import connection

from labeling.exports.models import Export, ExportStatus
from labeling.models import Project
from tests.celery_worker import _database_url, start_celery_worker, wait_until
from tests.conftest import PASSWORD
from tests.fault_tools import child_environment, gunicorn_server, logged_in_session, private_redis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]


def _finished(export_id: int, *, timeout: float, worker) -> Export:
    wait_until(
        lambda: Export.objects.get(id=export_id).status in (ExportStatus.DONE, ExportStatus.FAILED),
        timeout=timeout, message=f"export {export_id} to finish; worker log:\n{worker.log()[-3000:]}",
    )  # fmt: skip
    return Export.objects.get(id=export_id)


def test_broker_outage_gives_503_keeps_the_export_retryable_and_the_worker_reconnects(
    judged_project, researcher, tmp_path
):
    project, _, _ = judged_project
    exports = f"/api/v1/projects/{project.slug}/exports/"
    with private_redis(tmp_path) as redis, start_celery_worker(broker=redis.url) as worker:
        env = child_environment({
            "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": redis.url, "CELERY_TASK_DEFAULT_QUEUE": worker.queues["default"],
            "ARBITER_DATA_DIR": str(tmp_path / "data"),  # exports are written under it
        })  # fmt: skip
        with gunicorn_server(env=env, log_path=tmp_path / "gunicorn.log", workers=2) as server:
            web = logged_in_session(server.url, researcher.username, PASSWORD)
            first = web.post(f"{server.url}{exports}", json={"format": "trl", "prompt_layout": "stored"}, timeout=60)
            assert first.status_code == 202, first.text
            assert _finished(first.json()["id"], timeout=90, worker=worker).status == ExportStatus.DONE

            redis.stop()
            started = time.monotonic()
            refused = web.post(f"{server.url}{exports}", json={"format": "trl", "prompt_layout": "stored"}, timeout=60)
            assert refused.status_code == 503, refused.text[:500]
            assert time.monotonic() - started < 15, "an unreachable broker must be answered promptly"
            body = refused.json()
            assert body["code"] == "broker_unavailable" and "queue" in body["detail"], body
            stuck = Export.objects.exclude(id=first.json()["id"]).get(project=project)
            assert stuck.status == ExportStatus.ENQUEUE_FAILED and "not queued" in stuck.error
            again = web.post(f"{server.url}/api/v1/exports/{stuck.id}/retry/", timeout=60)
            assert again.status_code == 503, again.text[:500]
            time.sleep(3)  # the worker sees the broker gone and keeps trying to reconnect
            assert worker.process.poll() is None, f"the worker died with the broker:\n{worker.log()[-3000:]}"

            redis.start()
            retried = web.post(f"{server.url}/api/v1/exports/{stuck.id}/retry/", timeout=60)
            assert retried.status_code == 202, retried.text[:500]
            assert retried.json()["status"] == ExportStatus.QUEUED
            done = _finished(stuck.id, timeout=120, worker=worker)
            assert done.status == ExportStatus.DONE, (done.error, worker.log()[-3000:])
            conflict = web.post(f"{server.url}/api/v1/exports/{stuck.id}/retry/", timeout=60)
            assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
            assert worker.process.poll() is None


def _big_project(pairs: int) -> Project:
    """`pairs` pairs with three judgments each, generated in SQL (the export benchmark's data, smaller)."""
    from bench.bench_export import BATCHES, GENERATE_SQL, LABELERS, SLUG

    with connection.cursor() as cursor:
        cursor.execute(GENERATE_SQL, {"labelers": LABELERS, "slug": SLUG, "pairs": pairs, "batches": BATCHES})
    return Project.objects.get(slug=SLUG)


def test_a_worker_killed_mid_export_is_recovered_by_the_sweeper_within_two_minutes(researcher, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the data are generated in PostgreSQL")
    settings.EXPORT_DIR = str(tmp_path / "exports")
    project = _big_project(15_000)
    stale, sweep = 15, 2
    fast_sweeps = {"ARBITER_EXPORT_STALE_SECONDS": str(stale), "ARBITER_SWEEP_SECONDS": str(sweep)}
    from labeling.exports.options import ExportRequest
    from labeling.exports.services import export_create

    with start_celery_worker(extra_env=fast_sweeps, beat=True) as worker:
        token = worker.queues["default"].split(".", 1)[1]
        export = export_create(
            project=project, request=ExportRequest(format="trl", prompt_layout="stored"), created_by=researcher
        )
        wait_until(
            lambda: (e := Export.objects.get(id=export.id)).status == ExportStatus.RUNNING and e.progress > 0,
            timeout=120, interval=0.05, message=f"the export to be under way:\n{worker.log()[-3000:]}",
        )  # fmt: skip
        os.killpg(worker.process.pid, signal.SIGKILL)  # the worker and its beat, as when the machine dies
        worker.process.wait(timeout=10)
        killed_at = time.monotonic()
    killed = Export.objects.get(id=export.id)
    assert killed.status == ExportStatus.RUNNING and 0 < killed.progress < 1, (killed.status, killed.progress)

    with start_celery_worker(extra_env=fast_sweeps, beat=True, token=token) as worker:
        oldest_silence = 0.0
        while (current := Export.objects.get(id=export.id)).status not in (ExportStatus.DONE, ExportStatus.FAILED):
            if current.status == ExportStatus.RUNNING:
                silence = time.time() - current.heartbeat_at.timestamp()
                oldest_silence = max(oldest_silence, silence)
            assert time.monotonic() - killed_at < 120, f"not recovered in 2 minutes:\n{worker.log()[-3000:]}"
            time.sleep(0.2)
    done = Export.objects.get(id=export.id)
    assert done.status == ExportStatus.DONE, (done.error, worker.log()[-3000:])
    assert done.attempts == 2 and done.row_count > 0
    # No running row outlived its heartbeat by more than a sweep (plus a worker's start-up and scheduling slack).
    assert oldest_silence < stale + sweep + 15, oldest_silence
    folder = Path(done.path)
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]} | {"manifest.json"}
    assert {p.name for p in folder.iterdir()} == listed, "partial files of the killed run were left behind"
    assert manifest["counts"]["rows"] == done.row_count


def test_two_sweeps_restart_a_stalled_export_once_then_fail_it_with_a_retry(
    judged_project, researcher, settings, tmp_path
):
    import threading
    import uuid
    from datetime import timedelta

    import redis as redis_client
    from django.db import connections

    from common import clock
    from common.errors import Conflict
    from labeling.exports.options import ExportRequest
    from labeling.exports.services import export_create, export_retry
    from labeling.exports.sweeper import exports_sweep
    from tests.celery_worker import _route_to

    settings.ARBITER = {**settings.ARBITER, "SWEEP_MAX_REQUEUES": 1}
    settings.EXPORT_DIR = str(tmp_path / "exports")
    project, _, _ = judged_project
    queue = f"default.{uuid.uuid4().hex[:8]}"
    shared = redis_client.Redis.from_url(settings.CELERY_BROKER_URL)
    with _route_to({"default": queue}):
        try:
            export = export_create(
                project=project, request=ExportRequest(format="trl", prompt_layout="stored"), created_by=researcher
            )
            assert shared.llen(queue) == 1

            def worker_died(attempts: int) -> None:
                Export.objects.filter(id=export.id).update(
                    status=ExportStatus.RUNNING, attempts=attempts, heartbeat_at=clock.now() - timedelta(hours=1)
                )

            worker_died(1)
            reports, gate = [], threading.Barrier(2)

            def sweep() -> None:
                try:
                    gate.wait()
                    reports.append(exports_sweep())
                finally:
                    connections.close_all()

            threads = [threading.Thread(target=sweep) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(len(r.requeued) for r in reports) == [0, 1] and shared.llen(queue) == 2
            assert Export.objects.get(id=export.id).status == ExportStatus.QUEUED

            worker_died(2)  # its second worker died too: past SWEEP_MAX_REQUEUES it fails, with the way out
            assert exports_sweep().failed == [export.id]
            failed = Export.objects.get(id=export.id)
            assert failed.status == ExportStatus.FAILED and f"/api/v1/exports/{export.id}/retry/" in failed.error
            assert export_retry(export=failed).status == ExportStatus.QUEUED and shared.llen(queue) == 3

            Export.objects.filter(id=export.id).update(status=ExportStatus.RUNNING, heartbeat_at=clock.now())
            with pytest.raises(Conflict):  # a live run is never retried under it
                export_retry(export=failed)
            assert shared.llen(queue) == 3
        finally:
            shared.delete(queue)
