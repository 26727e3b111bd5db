"""Changing a project's settings and members after creation; settings that stored judgments depend on lock."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from common.errors import DomainError
from labeling.models import Assignment, AssignmentStatus, Comparison, Project, ProjectMembership

from .assignment import assignment_release
from .projects import PROJECT_FIELDS

# Stored judgments are read against these: the scale (a confidence means nothing on another scale) and the
# allowed choices (a tie recorded under a scale that no longer allows ties).
LOCKED_ONCE_LABELED = ("allow_tie", "allow_both_bad", "confidence_min", "confidence_max")


def project_locked_fields(*, project: Project) -> dict[str, str]:
    """Field -> why it cannot change now; empty until the project's first judgment."""
    judged = Comparison.objects.filter(pair__project=project).count()
    if not judged:
        return {}
    reason = (
        f"Locked: labeling has started ({judged} judgment{'s' if judged != 1 else ''}), "
        "and stored judgments were made on this scale and with these choices."
    )
    return dict.fromkeys(LOCKED_ONCE_LABELED, reason)


def check_project_update(*, project: Project, changes: dict[str, Any]) -> None:
    unknown = set(changes).difference(PROJECT_FIELDS)
    if unknown:
        raise DomainError(f"Unknown project settings: {', '.join(sorted(unknown))}.")
    locked = project_locked_fields(project=project)
    refused = sorted(name for name, value in changes.items() if name in locked and getattr(project, name) != value)
    if refused:
        raise DomainError(
            f"{', '.join(refused)}: {locked[refused[0]]}", errors=dict.fromkeys(refused, locked[refused[0]])
        )


@transaction.atomic
def project_update(*, project: Project, changes: dict[str, Any]) -> Project:
    """Apply `changes` (setting -> value) after the checks above; validates the whole project like creation."""
    check_project_update(project=project, changes=changes)
    locked = Project.objects.select_for_update().get(id=project.id)
    for name, value in changes.items():
        setattr(locked, name, value)
    if not locked.name:
        locked.name = locked.slug
    try:
        locked.full_clean()
    except ValidationError as exc:
        raise DomainError("Invalid project settings.", errors=exc.message_dict) from exc
    if locked.confidence_min >= locked.confidence_max:
        raise DomainError("confidence_min must be below confidence_max.")
    locked.save(update_fields=[*changes, "name"] if changes else None)
    return locked


def project_remove_member(*, project: Project, user: User) -> None:
    """Take a user off a project: their open leases go back to the pool; their judgments stay."""
    ProjectMembership.objects.filter(project=project, user=user).delete()
    for lease in Assignment.objects.filter(pair__project=project, labeler=user, status=AssignmentStatus.OPEN):
        assignment_release(assignment=lease)
