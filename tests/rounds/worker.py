"""A live Celery worker on queues default + gpu, as the training rounds need."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.celery_worker import CeleryWorker, start_celery_worker


@contextlib.contextmanager
def rounds_worker(*, token: str | None = None, extra_env: dict[str, str] | None = None) -> Iterator[CeleryWorker]:
    """`token` lets a second worker take over the same queues (the worker-kill test)."""
    env = {"ARBITER_ROUND_LABELING_POLL_SECONDS": "1", **(extra_env or {})}
    with start_celery_worker(queues=("default", "gpu"), token=token, extra_env=env) as worker:
        yield worker
