"""Read-side queries: progress counts and what a labeler may see."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet

from common import clock
from labeling.models import Assignment, AssignmentStatus, Comparison, Pair, PairFlag, Project
from labeling.services.accounts import is_researcher


@dataclass(frozen=True)
class ProjectProgress:
    pairs: int
    gold_pairs: int
    complete_pairs: int
    comparisons: int
    open_leases: int
    flagged_pairs: int
    overlap: int
    completion: float  # submitted judgments / (non-gold pairs × overlap)
    by_submitted: dict[int, int]

    def as_dict(self) -> dict:
        return asdict(self)


def project_progress(*, project: Project) -> ProjectProgress:
    pairs = Pair.objects.filter(project=project)
    totals = pairs.aggregate(
        pairs=Count("id", filter=Q(is_gold=False)),
        gold=Count("id", filter=Q(is_gold=True)),
        complete=Count("id", filter=Q(is_gold=False, submitted_count__gte=project.overlap)),
    )
    histogram = dict(
        pairs.filter(is_gold=False).values_list("submitted_count").annotate(n=Count("id")).order_by("submitted_count")
    )
    comparisons = Comparison.objects.filter(pair__project=project, is_current=True).count()
    non_gold_judgments = Comparison.objects.filter(pair__project=project, is_current=True, pair__is_gold=False).count()
    open_leases = Assignment.objects.filter(
        pair__project=project, status=AssignmentStatus.OPEN, expires_at__gt=clock.now()
    ).count()
    flagged = PairFlag.objects.filter(pair__project=project, resolved_at__isnull=True).values("pair").distinct().count()
    capacity = totals["pairs"] * project.overlap
    return ProjectProgress(
        pairs=totals["pairs"],
        gold_pairs=totals["gold"],
        complete_pairs=totals["complete"],
        comparisons=comparisons,
        open_leases=open_leases,
        flagged_pairs=flagged,
        overlap=project.overlap,
        completion=min(1.0, non_gold_judgments / capacity) if capacity else 0.0,
        by_submitted={int(k): v for k, v in histogram.items()},
    )


@dataclass(frozen=True)
class LabelerProgress:
    done_today: int
    done_in_project: int
    remaining: int


def labeler_progress(*, project: Project, labeler: AbstractBaseUser, now: datetime | None = None) -> LabelerProgress:
    now = now or clock.now()
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    mine = Comparison.objects.filter(pair__project=project, labeler=labeler, revision=1)
    seen = Assignment.objects.filter(pair=OuterRef("pk"), labeler=labeler).exclude(status=AssignmentStatus.OPEN)
    # Gold pairs are served to everyone (no overlap cap), so they count as remaining until this labeler had them.
    remaining = (
        Pair.objects.filter(Q(is_gold=True) | Q(submitted_count__lt=project.overlap), project=project)
        .filter(~Exists(seen))
        .count()
    )
    return LabelerProgress(
        done_today=mine.filter(created_at__gte=start_of_day).count(),
        done_in_project=mine.count(),
        remaining=remaining,
    )


def labeler_stats(*, project: Project, since: datetime | None = None) -> list[dict]:
    """Per-labeler counts and median-ish speed for the researcher page."""
    comparisons = Comparison.objects.filter(pair__project=project, is_current=True)
    if since is not None:
        comparisons = comparisons.filter(created_at__gte=since)
    rows = (
        comparisons.values("labeler_id", username=F("labeler__username"))
        .annotate(comparisons=Count("id"), mean_seconds=Avg("time_spent_ms") / 1000.0)
        .order_by("-comparisons")
    )
    skips = dict(
        Assignment.objects.filter(pair__project=project, status=AssignmentStatus.SKIPPED)
        .values_list("labeler_id")
        .annotate(n=Count("id"))
    )
    flags = dict(PairFlag.objects.filter(pair__project=project).values_list("labeler_id").annotate(n=Count("id")))
    return [{**row, "skips": skips.get(row["labeler_id"], 0), "flags": flags.get(row["labeler_id"], 0)} for row in rows]


def comparisons_visible_to(*, user: AbstractBaseUser) -> QuerySet[Comparison]:
    """Researchers see the comparisons of projects they belong to (admins: all); labelers only their own."""
    from labeling.services.projects import projects_visible_to

    qs = Comparison.objects.select_related("pair", "labeler", "pair__project").order_by("-id")
    if is_researcher(user):
        return qs.filter(pair__project__in=projects_visible_to(user))
    return qs.filter(labeler=user)


def flagged_pairs(*, project: Project, limit: int = 50) -> QuerySet[PairFlag]:
    return (
        PairFlag.objects.filter(pair__project=project, resolved_at__isnull=True)
        .select_related("labeler", "pair__prompt")
        .order_by("-created_at")[:limit]
    )


def recent_comparisons(*, project: Project, limit: int = 20) -> QuerySet[Comparison]:
    return (
        Comparison.objects.filter(pair__project=project)
        .select_related("labeler", "pair__prompt")
        .order_by("-created_at")[:limit]
    )


def speed_window(now: datetime | None = None) -> datetime:
    return (now or clock.now()) - timedelta(days=1)
