"""Celery entry point for exports: load by id, run the service."""

from __future__ import annotations

import logging

from celery import shared_task

from common.errors import DomainError

from .services import export_run

log = logging.getLogger(__name__)


@shared_task(name="exports.run", bind=True)
def export_run_task(self, export_id: int) -> None:
    # A redelivered message means the worker that had claimed this export died mid-run (acks_late).
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        export_run(export_id=export_id, resume_running=redelivered)
    except DomainError as exc:
        # Already stored on the export (status "failed", error); retrying the same request cannot help.
        log.warning("export %s failed: %s", export_id, exc.message)
