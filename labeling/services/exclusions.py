"""Researchers' exclusions of labelers: recorded with who/when/why, reversible, never deleting judgments."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from common import clock
from common.errors import Conflict, DomainError, Forbidden, NotFound
from labeling.models import Comparison, LabelerExclusion, Project

from .accounts import is_researcher


def excluded_labeler_ids(project: Project) -> set[int]:
    """Ids of labelers whose judgments exports and reward-model training must leave out (active exclusions)."""
    return set(
        LabelerExclusion.objects.filter(project=project, lifted_at__isnull=True).values_list("labeler_id", flat=True)
    )


def exclusions_list(*, project: Project, include_lifted: bool = True) -> QuerySet[LabelerExclusion]:
    exclusions = LabelerExclusion.objects.filter(project=project).select_related("labeler", "created_by", "lifted_by")
    if not include_lifted:
        exclusions = exclusions.filter(lifted_at__isnull=True)
    return exclusions.order_by("-created_at", "-id")


def _check_researcher(user: User) -> None:
    if not is_researcher(user):
        raise Forbidden("Only researchers and admins can exclude labelers.")


def labeler_exclude(*, project: Project, labeler: User, reason: str, excluded_by: User) -> LabelerExclusion:
    """Exclude a labeler's judgments of `project` from downstream use; at most one active exclusion per labeler."""
    _check_researcher(excluded_by)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give a reason for the exclusion; it is kept with the record.")
    if not _has_stake(project, labeler):
        raise NotFound(f"{labeler.username!r} has neither joined nor labeled project {project.slug!r}.")
    try:
        with transaction.atomic():
            return LabelerExclusion.objects.create(
                project=project, labeler=labeler, reason=reason, created_by=excluded_by
            )
    except IntegrityError as exc:
        raise Conflict(f"{labeler.username!r} is already excluded from {project.slug!r}.") from exc


def _has_stake(project: Project, labeler: User) -> bool:
    return (
        project.memberships.filter(user=labeler).exists()
        or Comparison.objects.filter(pair__project=project, labeler=labeler).exists()
    )


@transaction.atomic
def labeler_exclusion_lift(*, project: Project, labeler: User, reason: str, lifted_by: User) -> LabelerExclusion:
    """Lift the labeler's active exclusion; the record stays, with who lifted it, when and why."""
    _check_researcher(lifted_by)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give a reason for lifting the exclusion; it is kept with the record.")
    exclusion = (
        LabelerExclusion.objects.select_for_update()
        .filter(project=project, labeler=labeler, lifted_at__isnull=True)
        .first()
    )
    if exclusion is None:
        raise NotFound(f"{labeler.username!r} is not excluded from {project.slug!r}.")
    exclusion.lifted_by = lifted_by
    exclusion.lifted_at = clock.now()
    exclusion.lift_reason = reason
    exclusion.save(update_fields=["lifted_by", "lifted_at", "lift_reason"])
    return exclusion
