"""A project's optional content warning (e.g. red-team data), which each labeler acknowledges once."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User

from common import clock
from labeling.models import Project, ProjectMembership


def content_warning_pending(*, project: Project, user: User) -> bool:
    """True when the project has a warning this member has not acknowledged yet (non-member admins are not asked)."""
    if not project.content_warning.strip():
        return False
    return ProjectMembership.objects.filter(
        project=project, user=user, content_warning_acknowledged_at__isnull=True
    ).exists()


def content_warning_acknowledge(*, project: Project, user: User, now: datetime | None = None) -> None:
    """Record the member's acknowledgment; the first one is kept."""
    ProjectMembership.objects.filter(project=project, user=user, content_warning_acknowledged_at__isnull=True).update(
        content_warning_acknowledged_at=now or clock.now()
    )
