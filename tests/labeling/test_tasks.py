"""A task round trip through Redis and a real Celery worker process."""

import re
from datetime import timedelta

from django.utils import timezone

from labeling.models import Assignment, AssignmentStatus, Pair
from labeling.services.accounts import token_create, tokens_of
from labeling.services.assignment import assignment_next
from labeling.tasks import expire_stale_leases, purge_expired_tokens
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


def test_worker_purges_tokens_expired_longer_than_the_keep_window(celery_worker_process, labeler):
    from django.conf import settings as django_settings
    from knox.models import AuthToken

    now = timezone.now()
    keep = timedelta(days=django_settings.ARBITER["EXPIRED_TOKEN_KEEP_DAYS"])
    long_gone, lately, live, forever = (token_create(user=labeler).token_key for _ in range(4))
    AuthToken.objects.filter(token_key=long_gone).update(expiry=now - keep - timedelta(hours=1))
    AuthToken.objects.filter(token_key=lately).update(expiry=now - keep + timedelta(hours=1))
    AuthToken.objects.filter(token_key=forever).update(expiry=None)
    result = purge_expired_tokens.delay()
    # The one expired for longer than the window goes; one expired lately is still listed, as are live ones.
    wait_until(
        lambda: not AuthToken.objects.filter(token_key=long_gone).exists(),
        timeout=60,
        message=f"the worker to purge the token (log: {celery_worker_process.log_path})",
    )
    assert sorted(t.token_key for t in tokens_of(user=labeler)) == sorted([lately, live, forever])
    succeeded = re.compile(rf"labeling\.purge_expired_tokens\[{result.id}\] succeeded in [0-9.]+s: 1$", re.M)
    wait_until(
        lambda: succeeded.search(celery_worker_process.log()) is not None,
        timeout=30,
        message=f"the worker to log the task's result (log: {celery_worker_process.log_path})",
    )
    assert "labeling.purge_expired_tokens" in {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
