"""Handing pairs to labelers: leases with overlap, expiry, gold mixing, safe under concurrency on PostgreSQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef

from labeling.models import Assignment, AssignmentStatus, Pair, Project

from . import clock
from .errors import QueueEmpty, TooManyLeases

EXPIRY_SWEEP_LIMIT = 200
# What a labeler's screen shows; loaded with the lease so the API renders it without another query.
LABELER_VIEW = ("pair__prompt", "pair__sample_a", "pair__sample_b")


@dataclass(frozen=True)
class LeaseOptions:
    max_open_leases: int
    lease_seconds: int


def lease_options(project: Project) -> LeaseOptions:
    return LeaseOptions(max_open_leases=settings.ARBITER["MAX_OPEN_LEASES"], lease_seconds=project.lease_seconds)


def assignments_expire_stale(*, project: Project | None = None, now: datetime | None = None) -> int:
    """Return expired leases to the pool. Locks each lease, then its pair (the order every writer uses)."""
    now = now or clock.now()
    expired = 0
    stale = Assignment.objects.filter(status=AssignmentStatus.OPEN, expires_at__lte=now)
    if project is not None:
        stale = stale.filter(pair__project=project)
    with transaction.atomic():
        ids = list(
            stale.select_for_update(skip_locked=True).order_by("id").values_list("id", "pair_id")[:EXPIRY_SWEEP_LIMIT]
        )
        for assignment_id, pair_id in ids:
            Assignment.objects.filter(id=assignment_id).update(status=AssignmentStatus.EXPIRED, closed_at=now)
            Pair.objects.filter(id=pair_id, leased_count__gt=0).update(leased_count=F("leased_count") - 1)
            expired += 1
    return expired


def _candidate_pairs(project: Project, labeler: AbstractBaseUser, *, gold: bool):
    already_seen = Assignment.objects.filter(pair=OuterRef("pk"), labeler=labeler)
    pairs = Pair.objects.filter(project=project, is_gold=gold).filter(~Exists(already_seen))
    if not gold:
        # Overlap counts submitted judgments plus live leases; closest to completion first. The bound on
        # submitted_count alone is implied by the next one, but it lets the pair_queue index scan start past
        # the pairs already at full overlap instead of filtering through them (they pile up as work proceeds).
        pairs = pairs.filter(submitted_count__lt=project.overlap)
        pairs = pairs.alias(filled=F("submitted_count") + F("leased_count")).filter(filled__lt=project.overlap)
    return pairs.order_by("-submitted_count", "-leased_count", "id")


def _lock_next_pair(project: Project, labeler: AbstractBaseUser, *, gold: bool) -> Pair | None:
    return (
        _candidate_pairs(project, labeler, gold=gold)
        .select_related("prompt", "sample_a", "sample_b")
        .select_for_update(skip_locked=True, of=("self",))
        .first()
    )


def assignment_next(
    *,
    project: Project,
    labeler: AbstractBaseUser,
    exclude_ids: tuple[int, ...] = (),
    now: datetime | None = None,
    rng_uniform=clock.uniform,
    rng_coin=clock.coin_flip,
) -> Assignment:
    """The labeler's oldest open lease not in `exclude_ids`, else a new lease on the best available pair,
    returned with its pair's prompt and samples loaded.

    Never a pair the labeler already had (judged, skipped, flagged or let expire); a normal pair never
    gets more than `overlap` submitted judgments plus live leases. Gold pairs are mixed in at the project's
    gold rate and are indistinguishable to the labeler. Raises QueueEmpty or TooManyLeases.
    """
    now = now or clock.now()
    options = lease_options(project)
    assignments_expire_stale(project=project, now=now)
    # One query for both the resume and the lease-cap check: the cap keeps this list short.
    open_leases = list(
        Assignment.objects.filter(
            labeler=labeler, pair__project=project, status=AssignmentStatus.OPEN, expires_at__gt=now
        )
        .select_related(*LABELER_VIEW)
        .order_by("id")
    )
    resumable = next((lease for lease in open_leases if lease.id not in exclude_ids), None)
    if resumable is not None:
        return resumable
    if len(open_leases) >= options.max_open_leases:
        raise TooManyLeases(
            f"You already hold {options.max_open_leases} open pairs; submit or skip one first.",
            max_open_leases=options.max_open_leases,
        )
    prefer_gold = project.gold_rate > 0 and rng_uniform() < project.gold_rate
    for attempt in range(3):
        try:
            with transaction.atomic():
                pair = None
                for gold in ((True, False) if prefer_gold else (False,)):
                    pair = _lock_next_pair(project, labeler, gold=gold)
                    if pair is not None:
                        break
                if pair is None:
                    raise QueueEmpty("Nothing left to label in this project for you. Thank you!")
                assignment = Assignment.objects.create(
                    pair=pair,
                    labeler=labeler,
                    swapped=rng_coin(),
                    created_at=now,
                    expires_at=now + timedelta(seconds=options.lease_seconds),
                )
                Pair.objects.filter(id=pair.id).update(leased_count=F("leased_count") + 1)
                return assignment
        except IntegrityError:
            # The same labeler raced themselves (two tabs) to the same pair; take the next one.
            if attempt == 2:
                raise
    raise QueueEmpty("Nothing left to label in this project for you.")


def assignment_release(*, assignment: Assignment, now: datetime | None = None) -> None:
    """Give an open lease back to the pool without judging it (e.g. the labeler logs out)."""
    now = now or clock.now()
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(id=assignment.id)
        if locked.status != AssignmentStatus.OPEN:
            return
        Assignment.objects.filter(id=locked.id).update(status=AssignmentStatus.EXPIRED, closed_at=now)
        Pair.objects.filter(id=locked.pair_id, leased_count__gt=0).update(leased_count=F("leased_count") - 1)
