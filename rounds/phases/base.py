"""The shape every phase shares: claim the round for one task, parse its settings once, report progress,
and on success record wall time, FLOP/s and metrics (merged into the fresh row) and move the round on."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings as django_settings
from django.db import transaction

from common import clock
from common.errors import Conflict
from labeling.models import Project, Prompt, Sample
from labeling.services.imports import content_hash
from rounds import ml_bridge
from rounds.config import RoundSettings
from rounds.models import RoundState, TrainingRound
from rounds.services import compute
from rounds.services.progress import PhaseProgress, PhaseStopped, round_stale_after
from rounds.services.state import NEXT_PHASE, round_transition

S = RoundState
log = logging.getLogger(__name__)


def phase_claim(*, round_id: int, phase: str, task_id: str) -> TrainingRound | None:
    """The round if this task may run `phase` now, else None: the round moved on, or another task is running
    it and reported progress recently. A redelivered message (same task id) may continue. Locks the round."""
    with transaction.atomic():
        training_round = TrainingRound.objects.select_for_update().filter(id=round_id).first()
        if training_round is None or training_round.state != phase:
            return None
        now = clock.now()
        other = training_round.running_task_id and training_round.running_task_id != task_id
        fresh = training_round.progress_updated_at and now - training_round.progress_updated_at < round_stale_after()
        if other and fresh:
            return None
        training_round.running_task_id = task_id
        training_round.progress_updated_at = now
        training_round.save(update_fields=["running_task_id", "progress_updated_at"])
        return training_round


def phase_finish(
    *,
    round_id: int,
    phase: str,
    seconds: float,
    reason: str,
    metrics: dict[str, Any] | None = None,
    updates: dict[str, Any] | None = None,
    measured_flops: float | None = None,
) -> TrainingRound:
    """Record the phase's wall time and FLOP/s, merge `metrics` (phase name → its figures) into the row's
    current metrics, apply the field `updates`, then move on. Locks the round; call inside the transaction
    that saved the phase's results."""
    with transaction.atomic():
        rows = TrainingRound.objects.select_for_update().filter(id=round_id)
        current = rows.values("phase_seconds", "compute_achieved", "compute_estimate", "metrics").get()
        current["phase_seconds"][phase] = round(seconds, 3)
        current["compute_achieved"][phase] = compute.phase_achieved(
            estimate=current["compute_estimate"], phase=phase, seconds=seconds, measured_flops=measured_flops
        )
        rows.update(
            phase_seconds=current["phase_seconds"],
            compute_achieved=current["compute_achieved"],
            metrics={**current["metrics"], **(metrics or {})},
            **(updates or {}),
        )
        return round_transition(round_id=round_id, to_state=NEXT_PHASE[phase], reason=reason, expected_from=phase)


def round_artifact_dir(training_round: TrainingRound) -> Path:
    """The round's own folder; its creation time in the name keeps it unique even if a database is recreated."""
    if not training_round.artifact_dir:
        stamp = training_round.created_at.strftime("%Y%m%dT%H%M%S%f")
        folder = (
            Path(django_settings.ARTIFACT_DIR) / "rounds" / f"{training_round.project.slug}-{training_round.id}-{stamp}"
        )
        TrainingRound.objects.filter(id=training_round.id).update(artifact_dir=str(folder))
        training_round.artifact_dir = str(folder)
    folder = Path(training_round.artifact_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class PhaseRun:
    """One claimed run of a phase: the round as claimed, its parsed settings and progress reporter."""

    training_round: TrainingRound
    phase: str
    settings: RoundSettings
    progress: PhaseProgress
    started: float = field(default_factory=time.monotonic)

    @property
    def round_id(self) -> int:
        return self.training_round.id

    @property
    def project(self) -> Project:
        return self.training_round.project

    @functools.cached_property
    def folder(self) -> Path:
        return round_artifact_dir(self.training_round)

    def finish(
        self,
        *,
        reason: str,
        metrics: dict[str, Any] | None = None,
        updates: dict[str, Any] | None = None,
        measured_flops: float | None = None,
    ) -> TrainingRound:
        """phase_finish for this run, timed from its claim."""
        return phase_finish(
            round_id=self.round_id, phase=self.phase, seconds=time.monotonic() - self.started, reason=reason,
            metrics=metrics, updates=updates, measured_flops=measured_flops,
        )  # fmt: skip


class PhaseService(Protocol):
    def __call__(self, *, round_id: int, task_id: str) -> None: ...


def phase(state: str) -> Callable[[Callable[[PhaseRun], None]], PhaseService]:
    """Make `work(run)` a phase service `(*, round_id, task_id)`: it runs only if the task claims the round
    in `state`, with the settings parsed once; `work` ends by calling `run.finish(...)`."""

    def decorate(work: Callable[[PhaseRun], None]) -> PhaseService:
        @functools.wraps(work)
        def service(*, round_id: int, task_id: str) -> None:
            training_round = phase_claim(round_id=round_id, phase=state, task_id=task_id)
            if training_round is None:
                return
            run = PhaseRun(
                training_round=training_round, phase=state, settings=ml_bridge.round_settings(training_round),
                progress=PhaseProgress(round_id=round_id, phase=state, task_id=task_id),
            )  # fmt: skip
            work(run)

        return service

    return decorate


def phase_execute(*, phase: str, service: PhaseService, round_id: int, task_id: str) -> None:
    """Run a phase service as a worker does: a cancel stops it quietly, any other error marks the round
    failed in that phase (resumable from its last checkpoint)."""
    try:
        service(round_id=round_id, task_id=task_id)
    except PhaseStopped:
        log.info("round %s left %s; the task stops", round_id, phase)
    except Exception as exc:
        log.exception("round %s failed in %s", round_id, phase)
        with contextlib.suppress(Conflict):  # another transition (a cancel) got there first
            round_transition(
                round_id=round_id, to_state=RoundState.FAILED, reason=f"{phase} failed",
                error=f"{type(exc).__name__}: {exc}", expected_from=phase,
            )  # fmt: skip


def prompts_split(*, project: Project, settings: RoundSettings) -> tuple[list[Prompt], list[Prompt]]:
    """(training prompts, held-out prompts): the project's last `heldout_prompts` prompts are never sampled
    for labeling or trained on, so evaluation sees new inputs."""
    prompts = list(Prompt.objects.filter(project=project).order_by("id"))
    cut = max(len(prompts) - settings.heldout_prompts, 1)
    return prompts[:cut], prompts[cut:]


def batch_prompts(*, training: list[Prompt], settings: RoundSettings, number: int) -> list[Prompt]:
    """The round's prompts: a window that moves on each round, so later rounds ask about new prompts."""
    size = min(settings.num_prompts, len(training))
    offset = ((number - 1) * size) % len(training)
    return [training[(offset + i) % len(training)] for i in range(size)]


def storable_text(text: str) -> str:
    """A generated response as it is stored and shown: PostgreSQL text cannot hold NUL, which an untrained
    model may emit."""
    return text.replace("\x00", "\ufffd")


def sample_store(*, prompt: Prompt, policy_id: int, text: str, params: dict[str, Any]) -> Sample:
    """A generated response as a Sample row (one row per prompt, policy and text), as storable_text."""
    text = storable_text(text)
    sample, _ = Sample.objects.get_or_create(
        prompt=prompt, policy_id=policy_id, content_hash=content_hash(text),
        defaults={"text": text, "generation_params": params},
    )  # fmt: skip
    return sample
