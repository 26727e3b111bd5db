"""What researchers do with rounds: create, start, cancel, resume, close labeling early. A start or resume that
cannot reach the task queue is a 503 (BrokerUnavailable) with the round kept, waiting for a worker."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from common import clock
from common.errors import Conflict, DomainError, NotFound
from labeling.models import Policy, PolicyKind, Project
from rounds import ml_bridge
from rounds.config import RoundSettings, RoundSettingsError, round_settings_parse
from rounds.models import RoundState, TrainingRound
from rounds.services import compute
from rounds.services.launch import MemoryRefused, memory_check
from rounds.services.progress import heartbeat_is_stale
from rounds.services.state import PHASES, round_lock, round_requeue, round_transition

INITIAL_POLICY_PREFIX = "initial:"
DEFAULT_BASE_MODEL = "tiny"


def initial_policy_find(*, project: Project) -> Policy | None:
    """The project's initial (SFT) policy with a model artifact, if it has one yet."""
    return (
        Policy.objects.filter(project=project, kind=PolicyKind.INITIAL).exclude(artifact_path="").order_by("id").first()
    )


def base_model_default(*, project: Project) -> str:
    """The base_model a new round of the project gets: its initial policy's model, else tiny."""
    existing = initial_policy_find(project=project)
    return existing.artifact_path if existing is not None else DEFAULT_BASE_MODEL


def initial_policy_ensure(*, project: Project, base_model: str | None) -> Policy:
    """The project's initial (SFT) policy with a model artifact; registered from `base_model` (default tiny)
    when missing. The artifact may be a model name (tiny, smollm2-135m) that workers resolve to a folder.
    A project keeps one initial policy: a different `base_model` once it has one is refused (DomainError),
    since every round's KL penalty, pair mix and reward model are anchored on it."""
    existing = initial_policy_find(project=project)
    if existing is not None:
        if base_model is not None and base_model != existing.artifact_path:
            raise DomainError(
                f"base_model {base_model!r}: project {project.slug} already has the initial policy "
                f"{existing.name!r} (model {existing.artifact_path!r}), which every round starts from; "
                "leave base_model out or set it to that model."
            )
        return existing
    base_model = base_model or DEFAULT_BASE_MODEL
    policy, _ = Policy.objects.get_or_create(
        project=project,
        name=f"{INITIAL_POLICY_PREFIX}{base_model}"[:120],
        defaults={"kind": PolicyKind.INITIAL, "artifact_path": base_model, "metadata": {"base_model": base_model}},
    )
    return policy


def _current_policy(project: Project, policy_id: int | None, initial: Policy) -> Policy:
    if policy_id is not None:
        policy = Policy.objects.filter(project=project, id=policy_id).first()
        if policy is None:
            raise NotFound(f"No policy {policy_id} in project {project.slug}.")
        if not policy.artifact_path:
            raise DomainError(f"Policy {policy.name!r} has no model artifact to sample from.")
        return policy
    last = (
        TrainingRound.objects.filter(project=project, state=RoundState.DONE, new_policy__isnull=False)
        .order_by("-number")
        .first()
    )
    return last.new_policy if last is not None and last.new_policy is not None else initial


def check_memory_fits(*, settings: RoundSettings, artifact: str) -> None:
    """DomainError when a phase of the round cannot fit the accelerator memory the worker declares
    (ARBITER_GPU_MEMORY_GB), estimated from the policy's model shape, LoRA or full, and batch sizes."""
    try:
        memory_check(settings=settings, folder=ml_bridge.model_dir_if_ready(artifact), artifact=artifact)
    except (MemoryRefused, ValueError) as exc:
        raise DomainError(str(exc)) from exc


@transaction.atomic
def round_create(*, project: Project, created_by: User | None, settings: dict[str, Any] | None = None) -> TrainingRound:
    """A new round in state `created`, with validated settings and its compute estimate."""
    try:
        parsed = round_settings_parse(settings, instruction_template=project.instruction_template)
    except RoundSettingsError as exc:
        raise DomainError(str(exc)) from exc
    if not project.prompts.exists():
        raise DomainError("The project has no prompts; import prompts before creating a round.")
    Project.objects.select_for_update().filter(id=project.id).first()  # serialise round numbering
    initial = initial_policy_ensure(project=project, base_model=parsed.base_model)
    current = _current_policy(project, parsed.policy_id, initial)
    check_memory_fits(settings=parsed, artifact=current.artifact_path)
    number = (TrainingRound.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
    training_round = TrainingRound.objects.create(
        project=project,
        number=number,
        settings=parsed.to_dict(),
        created_by=created_by,
        policy=current,
        initial_policy=initial,
        comparisons_target=parsed.comparisons_target,
    )
    training_round.compute_estimate = compute.round_compute_estimate(training_round=training_round)
    training_round.save(update_fields=["compute_estimate"])
    return training_round


def round_start(*, training_round: TrainingRound, actor: User | None) -> TrainingRound:
    if training_round.state != RoundState.CREATED:
        raise Conflict(f"Round {training_round.number} was already started (it is {training_round.state}).")
    check_memory_fits(settings=ml_bridge.round_settings(training_round), artifact=training_round.policy.artifact_path)
    return round_transition(
        round_id=training_round.id,
        to_state=RoundState.SAMPLING,
        actor=actor,
        reason="started",
        expected_from=RoundState.CREATED,
    )


def round_cancel(*, training_round: TrainingRound, actor: User | None, reason: str = "") -> TrainingRound:
    """Stop a round; a running phase notices at its next progress report and stops without writing more."""
    return round_transition(
        round_id=training_round.id, to_state=RoundState.CANCELLED, actor=actor, reason=reason or "cancelled"
    )


def check_resumable(training_round: TrainingRound) -> None:
    """Conflict (409) unless the round failed, its task could not be queued, or its phase's heartbeat is stale
    (the worker died): resuming a live or queued phase would run it twice."""
    r = training_round
    beat_at = r.progress_updated_at  # None (no heartbeat yet) is stale to heartbeat_is_stale too
    if r.state == RoundState.FAILED or r.state not in PHASES or r.enqueue_error:
        return  # round_requeue refuses states with nothing to resume
    if beat_at is None or heartbeat_is_stale(r):
        return
    beat = f"last heartbeat {(clock.now() - beat_at).total_seconds():.0f} s ago"
    if r.state == RoundState.LABELING:
        raise Conflict(f"Round {r.number} is labeling and its watch is alive ({beat}).", state=r.state)
    if r.running_task_id:
        raise Conflict(
            f"Round {r.number} is running its {r.state} phase ({beat}); resume is for a failed or stalled phase.",
            state=r.state,
        )
    raise Conflict(f"Round {r.number}'s {r.state} task is queued and waiting for a worker ({beat}).", state=r.state)


def round_resume(*, training_round: TrainingRound, actor: User | None, reason: str = "") -> TrainingRound:
    """Run the round's phase again from its last checkpoint (after a failure, a lost worker or a broker that
    refused its task). Checked under the round's lock, so two resumes queue one task."""
    with transaction.atomic():
        check_resumable(round_lock(round_id=training_round.id))
        return round_requeue(round_id=training_round.id, actor=actor, reason=reason or "resumed")


def round_close_labeling(*, training_round: TrainingRound, actor: User | None, reason: str = "") -> TrainingRound:
    """End labeling before the comparisons target is reached; reward training starts on what there is."""
    return round_transition(
        round_id=training_round.id,
        to_state=RoundState.REWARD_TRAINING,
        actor=actor,
        reason=reason or "labeling closed early",
        expected_from=RoundState.LABELING,
    )
