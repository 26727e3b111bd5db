"""Queueing a Celery task once its row commits. An unreachable broker is a 503 the caller can retry, never a 500
on top of a committed row that no task will ever pick up."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction
from kombu.exceptions import OperationalError

from common.errors import BrokerUnavailable

log = logging.getLogger(__name__)

# What publishing raises when Redis is down or unreachable (kombu wraps most socket errors; some escape raw).
BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, ConnectionError, TimeoutError, OSError)


def task_send(*, task: Any, args: Sequence[Any], what: str, on_failure: Callable[[str], None]) -> None:
    """Publish `task(*args)` now. If the broker cannot be reached, `on_failure(reason)` records that on the
    job's row and BrokerUnavailable (HTTP 503) is raised."""
    try:
        task.apply_async(tuple(args))
    except BROKER_ERRORS as exc:
        reason = f"The task queue could not be reached ({type(exc).__name__}: {exc}); {what} was not queued."
        log.warning(reason)
        on_failure(reason)
        raise BrokerUnavailable(
            f"{reason} It is saved and marked so: retry once the queue (Redis) is back, or wait for the "
            "sweeper to queue it again.",
        ) from exc


def task_send_on_commit(*, task: Any, args: Sequence[Any], what: str, on_failure: Callable[[str], None]) -> None:
    """`task_send` once the surrounding transaction commits, so a worker never sees a row that was rolled back.
    The 503 then reaches whoever committed (the view), after the row is safely stored."""
    transaction.on_commit(lambda: task_send(task=task, args=args, what=what, on_failure=on_failure))
