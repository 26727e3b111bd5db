"""A task round trip through Redis and a real Celery worker process."""

import re
from datetime import timedelta

from django.utils import timezone

from labeling.models import Assignment, AssignmentStatus, Pair
from labeling.services.assignment import assignment_next
from labeling.tasks import expire_stale_leases
from tests.celery_worker import celery_worker_process, wait_until  # noqa: F401 - fixture


def test_worker_expires_stale_leases(celery_worker_process, make_project, labeler):
    project = make_project(pairs=2, gold_rate=0, lease_seconds=60)
    lease = assignment_next(project=project, labeler=labeler, now=timezone.now() - timedelta(minutes=5))
    assert Pair.objects.get(id=lease.pair_id).leased_count == 1
    result = expire_stale_leases.delay()
    wait_until(
        lambda: Assignment.objects.get(id=lease.id).status == AssignmentStatus.EXPIRED,
        timeout=60,
        message=f"the worker to expire the lease (log: {celery_worker_process.log_path})",
    )
    assert Pair.objects.get(id=lease.pair_id).leased_count == 0
    # The worker ran this very task (not the lazy expiry of a request), and it expired exactly the one lease.
    succeeded = re.compile(rf"labeling\.expire_stale_leases\[{result.id}\] succeeded in [0-9.]+s: 1$", re.M)
    wait_until(
        lambda: succeeded.search(celery_worker_process.log()) is not None,
        timeout=30,
        message=f"the worker to log the task's result (log: {celery_worker_process.log_path})",
    )
