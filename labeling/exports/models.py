"""Records of dataset exports (who asked for what, how far it got, where the files are) and pseudonym keys."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from labeling.models import Project


class ExportFormat(models.TextChoices):
    TRL = "trl", "TRL preference (JSONL)"
    TRL_PARQUET = "trl-parquet", "TRL preference (Parquet)"
    HF = "hf", "Hugging Face dataset folder (Parquet + dataset card)"
    OPENAI = "openai", "Summarize-from-feedback comparisons (JSONL)"
    HH = "hh", "HH-RLHF dialogues (JSONL)"
    RAW = "raw", "Raw judgments (JSONL)"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    # Recorded, but the task queue could not be reached: retry (API, command) or the sweeper queues it again.
    ENQUEUE_FAILED = "enqueue_failed", "Not queued (broker unreachable)"


class Export(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=16, choices=ExportFormat.choices)
    # The full request (filters, aggregation, split, seed) as ExportRequest.as_dict().
    filters = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    row_count = models.PositiveBigIntegerField(default=0)
    # Folder holding the data files and manifest.json.
    path = models.CharField(max_length=1000)
    manifest = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Liveness of a running export: written with its progress; the sweeper restarts one whose heartbeat is stale.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many runs claimed it; a run writes only while the count is still its own (a takeover stops the old run).
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="export_project_recent")]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.project_id} ({self.format}, {self.status})"


def new_pseudonym_key() -> str:
    return secrets.token_hex(32)


class PseudonymKey(models.Model):
    """A random per-project HMAC key: labeler pseudonyms stay stable across exports yet cannot be reversed
    by hashing small user ids, and do not change when the site's SECRET_KEY is rotated."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="pseudonym_key")
    key = models.CharField(max_length=64, default=new_pseudonym_key)
