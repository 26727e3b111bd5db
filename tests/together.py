"""Run callables at the same moment on their own threads, each with its own database connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def run_together(work: Sequence[Callable[[], T]], *, timeout: float = 120) -> list[T]:
    """Start every callable behind one barrier and return their results in order; the first exception a thread
    raised is raised here, and a thread still running after `timeout` seconds fails the call."""
    gate = threading.Barrier(len(work))
    results: list[T | None] = [None] * len(work)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            gate.wait()
            results[index] = work[index]()
        except BaseException as exc:  # raised below, in the calling thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        raise AssertionError(f"{stuck} of {len(threads)} threads still running after {timeout} s")
    return results  # type: ignore[return-value]  # every slot was filled: no thread raised or is running


def lease_while_any_in_flight(project, take: Callable[[], T]) -> T | None:
    """take() a lease for a labeler working beside others: an empty queue is retried while any lease of the
    project is still open (its pair may come back), and None once none is (the labeler is done)."""
    from common.errors import QueueEmpty, TooManyLeases
    from labeling.models import Assignment

    while True:
        try:
            return take()
        except QueueEmpty:
            if not Assignment.objects.filter(pair__project=project, status="open").exists():
                return None
            time.sleep(0.01)
        except TooManyLeases:
            continue
