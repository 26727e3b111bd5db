"""Export services: check and record a request, then run it (streaming, with progress) and write its manifest."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q

from common import clock
from common.errors import Conflict, DomainError, NotFound
from labeling.models import Policy, PolicyKind, Project
from labeling.services.enqueue import task_send_on_commit

from .aggregate import Scale
from .layout import PromptLayout
from .manifest import manifest_build
from .models import Export, ExportStatus, PseudonymKey
from .options import ExportRequest, ExportRequestError
from .pipeline import EmptySelectionError, dataset_write
from .pseudonym import Pseudonymizer
from .selection import comparisons_selected, judgment_groups, pair_flags

MANIFEST_NAME = "manifest.json"


class ExportPathError(DomainError):
    code = "export_path"


class EmptyExport(DomainError):
    code = "export_empty"


class ExportSuperseded(Exception):
    """Another run took this export over (this one's heartbeat went stale): stop without touching its files."""


def export_stale_after() -> timedelta:
    return timedelta(seconds=settings.ARBITER.get("EXPORT_STALE_SECONDS", 300))


def project_for_export(*, slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        known = ", ".join(Project.objects.order_by("slug").values_list("slug", flat=True)[:20]) or "none"
        raise NotFound(f"Unknown project {slug!r}. Known projects: {known}.")
    return project


def export_check_path(*, out_dir: Path) -> None:
    """The folder must be new or empty, and creatable by this process."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ExportPathError(f"Cannot export to {out_dir}: it is a file, not a folder.")
        if any(out_dir.iterdir()):
            raise ExportPathError(f"Cannot export to {out_dir}: the folder is not empty (choose a new one).")
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise ExportPathError(f"Cannot export to {out_dir}: the folder is not writable.")
        return
    ancestor = out_dir.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise ExportPathError(f"Cannot export to {out_dir}: {ancestor} is not a writable folder.")


def export_create(
    *, project: Project, request: ExportRequest, created_by: AbstractBaseUser | None = None,
    out_dir: Path | None = None, enqueue: bool = True,
) -> Export:  # fmt: skip
    """Record an export; with `enqueue`, a worker runs it once this transaction commits."""
    if out_dir is not None:
        export_check_path(out_dir=out_dir)
    if request.needs_tokenizer:
        export_tokenizer_name(project=project, request=request)  # refuse now rather than on the worker
    with transaction.atomic():
        export = Export.objects.create(
            project=project, format=request.format, filters=request.as_dict(), status=ExportStatus.QUEUED,
            path=str(out_dir or ""), created_by=created_by, created_at=clock.now(),
        )  # fmt: skip
        if out_dir is None:
            out_dir = Path(settings.EXPORT_DIR) / project.slug / f"{export.id:06d}-{request.format}"
            export_check_path(out_dir=out_dir)
            Export.objects.filter(id=export.id).update(path=str(out_dir))
            export.path = str(out_dir)
        if enqueue:
            export_enqueue(export_id=export.id)
    return export


def export_enqueue(*, export_id: int) -> None:
    """Queue the export's task once this transaction commits; an unreachable broker marks it `enqueue_failed`
    (kept, retryable) and raises BrokerUnavailable (503)."""
    from .tasks import export_run_task

    def mark(reason: str) -> None:
        Export.objects.filter(id=export_id, status=ExportStatus.QUEUED).update(
            status=ExportStatus.ENQUEUE_FAILED, error=reason
        )

    task_send_on_commit(task=export_run_task, args=(export_id,), what=f"export {export_id}", on_failure=mark)


RETRYABLE = (ExportStatus.FAILED, ExportStatus.ENQUEUE_FAILED)


def export_retry(*, export: Export, now: datetime | None = None) -> Export:
    """Queue a failed or never-queued export again (a running one whose heartbeat is stale too; a queued one
    whose message may be lost: a duplicate message finds it claimed and does nothing). Its partial files are
    removed when it starts. Conflict if it is done or running with a live heartbeat."""
    now = now or clock.now()
    stale = Q(status=ExportStatus.RUNNING) & (
        Q(heartbeat_at__lt=now - export_stale_after()) | Q(heartbeat_at__isnull=True)
    )
    with transaction.atomic():
        moved = (
            Export.objects.filter(Q(id=export.id) & (Q(status__in=[*RETRYABLE, ExportStatus.QUEUED]) | stale))
            .update(status=ExportStatus.QUEUED, error="", progress=0.0, finished_at=None)
        )  # fmt: skip
        if not moved:
            current = Export.objects.get(id=export.id)
            raise Conflict(
                f"Export {export.id} is {current.status}; only a failed, queued or stalled export is retried."
            )
        export_enqueue(export_id=export.id)
    export.refresh_from_db()
    return export


def export_tokenizer_name(*, project: Project, request: ExportRequest) -> str:
    """The model whose chat template lays out chat prompts: the request's, else the project's initial policy's."""
    if request.tokenizer:
        return request.tokenizer
    initial = (
        Policy.objects.filter(project=project, kind=PolicyKind.INITIAL).exclude(artifact_path="").order_by("id").first()
    )
    if initial is None:
        raise ExportRequestError(
            f"Project {project.slug!r} has no initial policy with a model, so the chat layout has no chat template: "
            "name one with tokenizer=<model name or folder>, or choose prompt_layout='bare' or 'stored'."
        )
    return initial.artifact_path


def prompt_layout_for(*, project: Project, request: ExportRequest) -> PromptLayout:
    """The layout of the request, with the tokenizer loaded when chat strings must be rendered here."""
    if not request.needs_tokenizer:
        return PromptLayout(request.prompt_layout, template=project.instruction_template)
    from training.loading import load_tokenizer, resolve_model  # transformers: only exports that render chat

    name = export_tokenizer_name(project=project, request=request)
    try:
        tokenizer = load_tokenizer(resolve_model(name))
    except (OSError, ValueError) as exc:
        raise ExportRequestError(f"Cannot use {name!r} for the chat layout: {exc}") from exc
    return PromptLayout("chat", template=project.instruction_template, tokenizer=tokenizer)


def _pseudonymizer(project: Project) -> Pseudonymizer:
    key, _ = PseudonymKey.objects.get_or_create(project=project)
    return Pseudonymizer(key.key)


def _clear_folder(folder: Path) -> None:
    """Remove what an earlier attempt of this export wrote (its folder was new or empty when it was created)."""
    for child in folder.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


def export_run(
    *, export_id: int, on_progress: Callable[[int, int], None] | None = None, resume_running: bool = False
) -> Export:
    """Run a recorded export. Failures are stored on the export (status, error) and re-raised.

    The export is claimed with one conditional UPDATE (queued, failed or enqueue_failed -> running; also a
    running one whose heartbeat is stale when `resume_running`, for a task redelivered after its worker died),
    so two workers never write one folder. Files of an earlier attempt are removed first.
    """
    export = Export.objects.select_related("project").filter(id=export_id).first()
    if export is None:
        raise NotFound(f"No export {export_id}.")
    now = clock.now()
    claimable = Q(status__in=[ExportStatus.QUEUED, *RETRYABLE])
    if resume_running:
        claimable |= Q(status=ExportStatus.RUNNING) & (
            Q(heartbeat_at__lt=now - export_stale_after()) | Q(heartbeat_at__isnull=True)
        )
    claimed = Export.objects.filter(Q(id=export_id) & claimable).update(
        status=ExportStatus.RUNNING, progress=0.0, error="", finished_at=None, heartbeat_at=now,
        attempts=F("attempts") + 1,
    )  # fmt: skip
    if not claimed:
        raise Conflict(f"Export {export_id} is already {Export.objects.get(id=export_id).status}.")
    attempt = Export.objects.values_list("attempts", flat=True).get(id=export_id)
    out_dir = Path(export.path)
    if (export.status != ExportStatus.QUEUED or attempt > 1) and out_dir.is_dir():
        _clear_folder(out_dir)
    created_dir = not out_dir.exists()
    try:
        export_check_path(out_dir=out_dir)
        _run(export, attempt, out_dir, on_progress)
    except ExportSuperseded:
        raise
    except Exception as exc:
        if out_dir.is_dir():
            _clear_folder(out_dir)
            if created_dir:
                out_dir.rmdir()
        message = str(exc) if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        Export.objects.filter(id=export.id, attempts=attempt).update(
            status=ExportStatus.FAILED, error=message, finished_at=clock.now()
        )
        raise
    export.refresh_from_db()
    return export


def _run(export: Export, attempt: int, out_dir: Path, on_progress: Callable[[int, int], None] | None) -> None:
    project = export.project
    request = ExportRequest.from_dict(export.filters)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportPathError(f"Cannot create the export folder {out_dir}: {exc.strerror}.") from exc
    qs = comparisons_selected(project=project, request=request)
    total = qs.count()
    if total == 0:
        raise EmptyExport("No judgments match this export's filters, so nothing was written.")
    pseudonym = _pseudonymizer(project)
    flags = pair_flags(project=project, pseudonym=pseudonym) if request.format == "raw" else {}

    mine = Export.objects.filter(id=export.id, status=ExportStatus.RUNNING, attempts=attempt)

    def progress(seen: int) -> None:
        # The progress write is the heartbeat, and tells this run whether it still owns the export.
        if not mine.update(progress=min(seen / total, 1.0), heartbeat_at=clock.now()):
            raise ExportSuperseded(f"export {export.id} was taken over by another run")
        if on_progress is not None:
            on_progress(seen, total)

    layout = prompt_layout_for(project=project, request=request)
    try:
        result = dataset_write(
            groups=judgment_groups(qs, detailed=request.format == "raw"), request=request,
            scale=Scale(project.confidence_min, project.confidence_max), pseudonym=pseudonym, out_dir=out_dir,
            layout=layout, title=f"{project.name} preferences", flags_for=lambda pair_id: flags.get(pair_id, []),
            on_progress=progress,
        )  # fmt: skip
    except EmptySelectionError as exc:
        raise EmptyExport(str(exc)) from exc
    except OSError as exc:
        raise ExportPathError(f"Writing the export to {out_dir} failed: {exc}.") from exc
    finished = clock.now()
    tokenizer = export_tokenizer_name(project=project, request=request) if request.needs_tokenizer else None
    manifest = manifest_build(
        export=export, request=request, result=result, finished_at=finished, tokenizer=tokenizer,
        instruction_template=project.instruction_template,
    )  # fmt: skip
    tmp = out_dir / f".{MANIFEST_NAME}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out_dir / MANIFEST_NAME)
    mine.update(
        status=ExportStatus.DONE, progress=1.0, row_count=sum(result.rows_per_split.values()), manifest=manifest,
        finished_at=finished,
    )  # fmt: skip


def export_file_path(*, export: Export, name: str) -> Path:
    """A file of a finished export, refusing anything outside its folder."""
    if export.status != ExportStatus.DONE:
        raise DomainError(f"Export {export.id} is {export.status}; files are available once it is done.")
    root = Path(export.path).resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound(f"Export {export.id} has no file {name!r}.")
    return path
