"""Celery entry points for exports: load by id, run the service; the periodic sweep of exports whose worker died."""

from __future__ import annotations

import logging

from celery import shared_task

from common.errors import DomainError

from .services import ExportSuperseded, export_run
from .sweeper import exports_sweep

log = logging.getLogger(__name__)


@shared_task(name="exports.run", bind=True)
def export_run_task(self, export_id: int) -> None:
    # A redelivered message means the worker that had claimed this export died mid-run (acks_late); it may
    # take the export over once that run's heartbeat is stale.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        export_run(export_id=export_id, resume_running=redelivered)
    except ExportSuperseded as exc:
        log.warning("%s; this run stops", exc)
    except DomainError as exc:
        # Already stored on the export (status "failed", error), or another run holds it: retrying cannot help.
        log.warning("export %s not run: %s", export_id, exc.message)


@shared_task(name="exports.sweep")
def exports_sweep_task() -> None:
    exports_sweep()
