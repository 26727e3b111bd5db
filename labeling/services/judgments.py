"""Submitting, skipping, flagging and revising judgments. Checks come first; a rejected call writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from common import clock
from common.errors import (
    AlreadySubmitted,
    DomainError,
    Forbidden,
    LeaseExpired,
    NotFound,
    ProjectArchived,
    QueueEmpty,
    TooManyLeases,
)
from labeling.models import (
    Assignment,
    AssignmentStatus,
    Choice,
    Comparison,
    FlagReason,
    Pair,
    PairFlag,
    Project,
)

from . import labeling_sql
from .accounts import is_admin
from .assignment import assignment_next

MAX_TIME_SPENT_MS = 24 * 3600 * 1000
SWAPPED_CHOICE = {Choice.A: Choice.B, Choice.B: Choice.A, Choice.TIE: Choice.TIE, Choice.BOTH_BAD: Choice.BOTH_BAD}


@dataclass(frozen=True)
class Judgment:
    """A judgment as the labeler made it, relative to the order they saw."""

    choice: str
    confidence: int | None = None
    rationale: str = ""
    time_spent_ms: int = 0
    flag_reason: str = ""
    flag_note: str = ""


def to_canonical_choice(shown_choice: str, swapped: bool) -> str:
    return SWAPPED_CHOICE[Choice(shown_choice)] if swapped else shown_choice


def to_canonical_confidence(shown: int | None, swapped: bool, project: Project) -> int | None:
    """Mirror the scale when the display was swapped: 1 (left much better) becomes 9 (right much better)."""
    if shown is None or not swapped:
        return shown
    return project.confidence_min + project.confidence_max - shown


def check_judgment(*, project: Project, judgment: Judgment) -> None:
    if judgment.choice not in Choice.values:
        raise DomainError(f"Unknown choice {judgment.choice!r}; expected one of {', '.join(Choice.values)}.")
    if judgment.choice == Choice.TIE and not project.allow_tie:
        raise DomainError("This project does not allow ties.")
    if judgment.choice == Choice.BOTH_BAD and not project.allow_both_bad:
        raise DomainError("This project does not allow 'both bad'.")
    if judgment.confidence is not None and not (
        project.confidence_min <= judgment.confidence <= project.confidence_max
    ):
        raise DomainError(
            f"Confidence {judgment.confidence} is outside the scale {project.confidence_min}–{project.confidence_max}."
        )
    if judgment.confidence is not None and judgment.choice in (Choice.TIE, Choice.BOTH_BAD):
        mid = project.confidence_midpoint
        if judgment.confidence != mid:
            name = "A tie" if judgment.choice == Choice.TIE else "'Both bad'"
            allowed = f"no confidence or the scale's midpoint {mid:g}" if mid == int(mid) else "no confidence"
            raise DomainError(
                f"{name} says neither side is better, so it goes with {allowed}, not {judgment.confidence}.",
                errors={"confidence": [f"must be {allowed} when choice is {judgment.choice!r}"]},
            )
    if judgment.confidence is not None and judgment.choice in (Choice.A, Choice.B):
        mid = project.confidence_midpoint
        leans_a = judgment.confidence < mid
        leans_b = judgment.confidence > mid
        if (judgment.choice == Choice.A and leans_b) or (judgment.choice == Choice.B and leans_a):
            raise DomainError("The confidence leans the other way from the choice.")
    if not 0 <= judgment.time_spent_ms <= MAX_TIME_SPENT_MS:
        raise DomainError("time_spent_ms must be between 0 and 86,400,000.")
    if judgment.flag_reason and judgment.flag_reason not in FlagReason.values:
        raise DomainError(f"Unknown flag reason {judgment.flag_reason!r}.")


def _lock_open_assignment(*, assignment_id: int, labeler: User, now: datetime) -> labeling_sql.LockedLease:
    """The labeler's open, unexpired lease, row-locked, with its project; raises the reason it cannot be judged."""
    locked = labeling_sql.lease_lock(assignment_id=assignment_id, labeler_id=labeler.pk)
    if locked is None or locked.lease.labeler_id != labeler.pk:
        raise NotFound("No such assignment of yours.")
    assignment = locked.lease
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise AlreadySubmitted("This pair was already submitted; revise the comparison instead.")
    if assignment.status != AssignmentStatus.OPEN:
        raise LeaseExpired(f"This pair is no longer yours to judge (it was {assignment.status}).")
    if assignment.expires_at <= now:
        raise LeaseExpired("Your time on this pair ran out and it went back to the pool. Load the next pair.")
    return locked


def _close(assignment: Assignment, status: str, now: datetime, *, submitted: bool) -> None:
    Assignment.objects.filter(id=assignment.id).update(status=status, closed_at=now)
    counters = {"leased_count": F("leased_count") - 1}
    if submitted:
        counters["submitted_count"] = F("submitted_count") + 1
    Pair.objects.filter(id=assignment.pair_id).update(**counters)


def comparison_submit(
    *, assignment_id: int, labeler: User, judgment: Judgment, now: datetime | None = None
) -> Comparison:
    """Record a judgment on an open, unexpired lease of the labeler's. Locks the assignment, then the pair."""
    return _judgment_store(assignment_id=assignment_id, labeler=labeler, judgment=judgment, now=now or clock.now())[0]


def _judgment_store(
    *, assignment_id: int, labeler: User, judgment: Judgment, now: datetime
) -> tuple[Comparison, labeling_sql.LockedLease]:
    """comparison_submit's work; also returns the locked lease (its project loaded) and the labeler's membership."""
    with transaction.atomic():
        locked = _lock_open_assignment(assignment_id=assignment_id, labeler=labeler, now=now)
        assignment = locked.lease
        project = assignment.pair.project
        check_judgment(project=project, judgment=judgment)
        row = labeling_sql.JudgmentRow(
            choice=to_canonical_choice(judgment.choice, assignment.swapped),
            shown_choice=judgment.choice,
            confidence=to_canonical_confidence(judgment.confidence, assignment.swapped, project),
            shown_confidence=judgment.confidence,
            rationale=judgment.rationale,
            time_spent_ms=judgment.time_spent_ms,
        )
        comparison = labeling_sql.judgment_insert(assignment=assignment, row=row, now=now)
        if judgment.flag_reason:
            PairFlag.objects.create(
                pair_id=assignment.pair_id,
                labeler=labeler,
                reason=judgment.flag_reason,
                note=judgment.flag_note,
                created_at=now,
            )
    return comparison, locked


@dataclass(frozen=True)
class SubmittedWithNext:
    """A stored judgment and the labeler's next lease, or why there is none (`next_refusal`)."""

    comparison: Comparison
    project: Project
    next: Assignment | None
    next_refusal: DomainError | None


# What assignment_next may refuse with; anything else (a database error) is an error of the whole request.
NEXT_REFUSALS = (QueueEmpty, TooManyLeases, ProjectArchived, NotFound)


def comparison_submit_and_next(
    *,
    assignment_id: int,
    labeler: User,
    judgment: Judgment,
    exclude_ids: tuple[int, ...] = (),
    now: datetime | None = None,
    rng_uniform=clock.uniform,
    rng_coin=clock.coin_flip,
) -> SubmittedWithNext:
    """comparison_submit, then assignment_next in the lease's project, in one call: a labeler's loop costs one
    round trip. The judgment commits first, on its own: a refused or failed next lease never loses it.

    The next lease follows assignment_next's rules exactly (resume the oldest open lease not in `exclude_ids`,
    never a pair twice, overlap, gold rate, lease cap). A labeler no longer a member of the project (and not an
    admin) gets no next lease (NotFound as the refusal), as the next-pair endpoint would answer.
    """
    now = now or clock.now()
    comparison, locked = _judgment_store(assignment_id=assignment_id, labeler=labeler, judgment=judgment, now=now)
    project = locked.lease.pair.project
    try:
        if not (locked.labeler_is_member or is_admin(labeler)):
            raise NotFound(f"No project {project.slug!r} that you are a member of.")
        upcoming = assignment_next(
            project=project,
            labeler=labeler,
            exclude_ids=exclude_ids,
            now=now,
            rng_uniform=rng_uniform,
            rng_coin=rng_coin,
        )
    except NEXT_REFUSALS as refusal:
        return SubmittedWithNext(comparison=comparison, project=project, next=None, next_refusal=refusal)
    return SubmittedWithNext(comparison=comparison, project=project, next=upcoming, next_refusal=None)


def assignment_skip(*, assignment_id: int, labeler: User, now: datetime | None = None) -> None:
    now = now or clock.now()
    with transaction.atomic():
        assignment = _lock_open_assignment(assignment_id=assignment_id, labeler=labeler, now=now).lease
        _close(assignment, AssignmentStatus.SKIPPED, now, submitted=False)


def assignment_flag(
    *, assignment_id: int, labeler: User, reason: str, note: str = "", now: datetime | None = None
) -> PairFlag:
    """Flag a pair instead of judging it; the labeler is not asked for it again."""
    now = now or clock.now()
    if reason not in FlagReason.values:
        raise DomainError(f"Unknown flag reason {reason!r}; expected one of {', '.join(FlagReason.values)}.")
    if reason == FlagReason.OTHER and not note.strip():
        raise DomainError("Say what is wrong when flagging with reason 'other'.")
    with transaction.atomic():
        assignment = _lock_open_assignment(assignment_id=assignment_id, labeler=labeler, now=now).lease
        flag = PairFlag.objects.create(
            pair_id=assignment.pair_id, labeler=labeler, reason=reason, note=note, created_at=now
        )
        _close(assignment, AssignmentStatus.FLAGGED, now, submitted=False)
    return flag


def comparison_revise(
    *, comparison_id: int, labeler: User, judgment: Judgment, now: datetime | None = None
) -> Comparison:
    """A new revision of the labeler's own current comparison; the old row is kept, marked not current."""
    now = now or clock.now()
    with transaction.atomic():
        previous = (
            Comparison.objects.select_for_update(of=("self",))
            .select_related("assignment", "pair__project")
            .filter(id=comparison_id)
            .first()
        )
        if previous is None or previous.labeler_id != labeler.pk:
            raise NotFound("No such comparison of yours.")
        if not previous.is_current:
            raise Forbidden("Only the current revision of a comparison can be revised.")
        project = previous.pair.project
        check_judgment(project=project, judgment=judgment)
        swapped = previous.assignment.swapped
        Comparison.objects.filter(id=previous.id).update(is_current=False)
        return Comparison.objects.create(
            assignment=previous.assignment,
            pair=previous.pair,
            labeler=labeler,
            choice=to_canonical_choice(judgment.choice, swapped),
            shown_choice=judgment.choice,
            confidence=to_canonical_confidence(judgment.confidence, swapped, project),
            shown_confidence=judgment.confidence,
            rationale=judgment.rationale,
            time_spent_ms=judgment.time_spent_ms,
            revision=previous.revision + 1,
            supersedes=previous,
            created_at=now,
        )
