"""Celery entry point for exports: load by id, run the service."""
from __future__ import annotations

import logging

from celery import shared_task

from labeling.services.errors import DomainError

from .services import export_run

log = logging.getLogger(__name__)


@shared_task(name="exports.run")
def export_run_task(export_id: int) -> None:
    try:
        export_run(export_id=export_id)
    except DomainError as exc:
        # Already stored on the export (status "failed", error); retrying the same request cannot help.
        log.warning("export %s failed: %s", export_id, exc.message)
