"""Exports whose worker died: a running export with a stale heartbeat is queued again (its partial files are
removed when it restarts) or, after too many lost workers, marked failed with a retry hint. An export the
broker refused is queued again once the broker is back. Safe when two sweepers run: every move is one
conditional UPDATE that only one of them can win, and only the winner queues the task."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from common import clock
from common.errors import BrokerUnavailable

from .models import Export, ExportStatus
from .services import export_enqueue, export_stale_after

log = logging.getLogger(__name__)


@dataclass
class ExportSweep:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    still_unqueued: list[int] = field(default_factory=list)


def _requeue(export: Export, *, reason: str, moved_from: Q) -> bool:
    """Move the export back to queued if it is still as the sweeper saw it, and queue its task."""
    with transaction.atomic():
        won = Export.objects.filter(Q(id=export.id) & moved_from).update(status=ExportStatus.QUEUED, error=reason)
        if won:
            export_enqueue(export_id=export.id)
    return bool(won)


def exports_sweep(*, now: datetime | None = None) -> ExportSweep:
    now = now or clock.now()
    report = ExportSweep()
    max_requeues = settings.ARBITER.get("SWEEP_MAX_REQUEUES", 2)
    cutoff = now - export_stale_after()
    stale = Export.objects.filter(status=ExportStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    for export in stale.only("id", "attempts", "heartbeat_at"):
        # Unchanged since it was read: same attempt, same (stale) heartbeat.
        as_seen = Q(status=ExportStatus.RUNNING, attempts=export.attempts, heartbeat_at=export.heartbeat_at)
        since = export.heartbeat_at.isoformat(timespec="seconds") if export.heartbeat_at else "its start"
        if export.attempts <= max_requeues:
            reason = f"Its worker stopped (no heartbeat since {since}); restarted by the sweeper."
            try:
                if _requeue(export, reason=reason, moved_from=as_seen):
                    report.requeued.append(export.id)
            except BrokerUnavailable:
                report.still_unqueued.append(export.id)
            continue
        reason = (
            f"Its worker stopped {export.attempts} times (last heartbeat {since}). Retry it with "
            f"POST /api/v1/exports/{export.id}/retry/ or `manage.py export_retry {export.id}`."
        )
        if Export.objects.filter(Q(id=export.id) & as_seen).update(
            status=ExportStatus.FAILED, error=reason, finished_at=now
        ):
            report.failed.append(export.id)
    for export in Export.objects.filter(status=ExportStatus.ENQUEUE_FAILED).only("id", "error"):
        try:
            if _requeue(export, reason="", moved_from=Q(status=ExportStatus.ENQUEUE_FAILED)):
                report.requeued.append(export.id)
        except BrokerUnavailable:
            report.still_unqueued.append(export.id)
    if report.requeued or report.failed:
        log.warning("export sweep: requeued %s, failed %s", report.requeued, report.failed)
    return report
