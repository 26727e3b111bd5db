"""Who holds open leases in a project and since when, and releasing them (a labeler who walked away)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Count, Max, Min

from common.clock import now as clock_now
from labeling.models import Assignment, AssignmentStatus, Project

from .assignment import assignment_release


@dataclass(frozen=True)
class LeaseHolder:
    user_id: int
    username: str
    leases: int
    since: datetime
    expires: datetime


def open_lease_holders(*, project: Project, now: datetime | None = None) -> list[LeaseHolder]:
    rows = (
        Assignment.objects.filter(
            pair__project=project, status=AssignmentStatus.OPEN, expires_at__gt=now or clock_now()
        )
        .values("labeler_id", "labeler__username")
        .annotate(leases=Count("id"), since=Min("created_at"), expires=Max("expires_at"))
        .order_by("since")
    )
    return [
        LeaseHolder(
            user_id=r["labeler_id"],
            username=r["labeler__username"],
            leases=r["leases"],
            since=r["since"],
            expires=r["expires"],
        )
        for r in rows
    ]


def open_leases_release(*, project: Project, labeler: User) -> int:
    """Hand back every open lease the labeler holds in the project; returns how many."""
    held = Assignment.objects.filter(pair__project=project, labeler=labeler, status=AssignmentStatus.OPEN)
    return sum(assignment_release(assignment=lease) for lease in held.order_by("id"))
