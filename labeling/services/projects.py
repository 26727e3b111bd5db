"""Projects and membership."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from common import clock
from common.errors import DomainError, Forbidden, NotFound
from labeling.models import Project, ProjectMembership

from .accounts import is_admin, is_researcher

# The settings a researcher may give a project, in display order (the API's serializer lists these too).
PROJECT_FIELDS = (
    "name",
    "instructions",
    "content_warning",
    "allow_tie",
    "allow_both_bad",
    "confidence_min",
    "confidence_max",
    "overlap",
    "lease_seconds",
    "gold_rate",
    "review_threshold",
    "instruction_template",
)


@transaction.atomic
def project_create(*, slug: str, created_by: User | None = None, **fields: Any) -> Project:
    unknown = set(fields).difference(PROJECT_FIELDS)
    if unknown:
        raise DomainError(f"Unknown project settings: {', '.join(sorted(unknown))}.")
    project = Project(slug=slug, created_by=created_by, **fields)
    if not project.name:
        project.name = slug
    try:
        project.full_clean()
    except ValidationError as exc:
        raise DomainError("Invalid project settings.", errors=exc.message_dict) from exc
    if project.confidence_min >= project.confidence_max:
        raise DomainError("confidence_min must be below confidence_max.")
    try:
        project.save()
    except IntegrityError as exc:
        raise DomainError(f"A project with slug {slug!r} already exists.") from exc
    if created_by is not None:
        ProjectMembership.objects.get_or_create(project=project, user=created_by)
    return project


def project_add_member(*, project: Project, user: User) -> ProjectMembership:
    membership, _ = ProjectMembership.objects.get_or_create(project=project, user=user)
    return membership


def projects_visible_to(user: User) -> QuerySet[Project]:
    """Admins see every project; everyone else the projects they are a member of."""
    if is_admin(user):
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def project_get_for_user(*, slug: str, user: User, manage: bool = False) -> Project:
    """The project if the user may see it (404 otherwise, so membership is not revealed); `manage` needs a researcher."""
    project = projects_visible_to(user).filter(slug=slug).first()
    if project is None:
        raise NotFound(f"No project {slug!r} that you are a member of.")
    if manage and not is_researcher(user):
        raise Forbidden("Only researchers and admins can do this.")
    return project


def project_archive(*, project: Project, archived_by: User | None = None) -> Project:
    """Archive instead of deleting: judgments, pairs and exports are kept, and no new pair is handed out.
    Leases already given may still be judged until they expire. Archiving twice keeps the first date."""
    Project.objects.filter(pk=project.pk, archived_at__isnull=True).update(
        archived_at=clock.now(), archived_by=archived_by
    )
    project.refresh_from_db(fields=["archived_at", "archived_by"])
    return project


def project_unarchive(*, project: Project) -> Project:
    Project.objects.filter(pk=project.pk).update(archived_at=None, archived_by=None)
    project.archived_at, project.archived_by = None, None
    return project
