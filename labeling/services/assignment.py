"""Handing pairs to labelers: leases with overlap, expiry, gold mixing, safe under concurrency on PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F

from common import clock
from common.errors import ProjectArchived, QueueEmpty, TooManyLeases
from labeling.models import Assignment, AssignmentStatus, Pair, Project

from . import labeling_sql

EXPIRY_SWEEP_LIMIT = 200


@dataclass(frozen=True)
class LeaseOptions:
    max_open_leases: int
    lease_seconds: int


def lease_options(project: Project) -> LeaseOptions:
    return LeaseOptions(max_open_leases=settings.ARBITER["MAX_OPEN_LEASES"], lease_seconds=project.lease_seconds)


def assignments_expire_stale(*, project: Project | None = None, now: datetime | None = None) -> int:
    """Return expired leases to the pool. Locks each lease, then its pair (the order every writer uses).
    Inside a caller's transaction it is part of that transaction (no savepoint)."""
    now = now or clock.now()
    expired = 0
    with transaction.atomic(savepoint=False):
        ids = labeling_sql.stale_leases_lock(
            project_id=project.id if project is not None else None, now=now, limit=EXPIRY_SWEEP_LIMIT
        )
        for assignment_id, pair_id in ids:
            Assignment.objects.filter(id=assignment_id).update(status=AssignmentStatus.EXPIRED, closed_at=now)
            Pair.objects.filter(id=pair_id, leased_count__gt=0).update(leased_count=F("leased_count") - 1)
            expired += 1
    return expired


def assignment_next(
    *,
    project: Project,
    labeler: User,
    exclude_ids: tuple[int, ...] = (),
    now: datetime | None = None,
    rng_uniform=clock.uniform,
    rng_coin=clock.coin_flip,
) -> Assignment:
    """The labeler's oldest open lease not in `exclude_ids`, else a new lease on the best available pair,
    returned with its pair's prompt and samples loaded.

    Never a pair the labeler already had (judged, skipped, flagged or let expire); a normal pair never
    gets more than `overlap` submitted judgments plus live leases. Gold pairs are mixed in at the project's
    gold rate and are indistinguishable to the labeler. Raises QueueEmpty, TooManyLeases or ProjectArchived.
    """
    now = now or clock.now()
    if project.archived_at is not None:
        raise ProjectArchived("This project is archived and hands out no new pairs.")
    options = lease_options(project)
    prefer_gold = project.gold_rate > 0 and rng_uniform() < project.gold_rate
    for attempt in range(3):
        try:
            # One transaction for the sweep, the resume and the new lease. A refusal is raised after it
            # commits, so the expired leases it returned to the pool stay returned.
            with transaction.atomic():
                outcome = _lease_or_refusal(project, labeler, exclude_ids, now, options, prefer_gold, rng_coin)
        except IntegrityError:
            # The same labeler raced themselves (two tabs) to the same pair; take the next one.
            if attempt == 2:
                raise
            continue
        if isinstance(outcome, Assignment):
            return outcome
        raise outcome
    raise QueueEmpty("Nothing left to label in this project for you.")


def _lease_or_refusal(
    project: Project,
    labeler: User,
    exclude_ids: tuple[int, ...],
    now: datetime,
    options: LeaseOptions,
    prefer_gold: bool,
    rng_coin,
) -> Assignment | QueueEmpty | TooManyLeases:
    """assignment_next's work inside its transaction: the lease to return, or the refusal to raise."""
    assignments_expire_stale(project=project, now=now)
    # One query for both the resume and the lease-cap check: the cap keeps this list short.
    open_leases = labeling_sql.open_leases_read(project_id=project.id, labeler_id=labeler.pk, now=now)
    resumable = next((lease for lease in open_leases if lease.id not in exclude_ids), None)
    if resumable is not None:
        return resumable
    if len(open_leases) >= options.max_open_leases:
        return TooManyLeases(
            f"You already hold {options.max_open_leases} open pairs; submit or skip one first.",
            max_open_leases=options.max_open_leases,
        )
    pair = None
    # Gold first at the gold rate; once the normal pairs are gone the unseen gold ones still come, so
    # "Remaining" (which counts them) is what the labeler will actually be served.
    for gold in (True, False) if prefer_gold else (False, True):
        pair = labeling_sql.next_pair_lock(
            project_id=project.id, labeler_id=labeler.pk, overlap=project.overlap, gold=gold
        )
        if pair is not None:
            break
    if pair is None:
        return QueueEmpty("Nothing left to label in this project for you. Thank you!")
    swapped, expires_at = rng_coin(), now + timedelta(seconds=options.lease_seconds)
    lease_id = labeling_sql.lease_insert(
        pair=pair, labeler_id=labeler.pk, swapped=swapped, created_at=now, expires_at=expires_at
    )
    lease = Assignment(
        id=lease_id,
        pair=pair,
        labeler=labeler,
        status=AssignmentStatus.OPEN,
        swapped=swapped,
        created_at=now,
        expires_at=expires_at,
    )
    lease._state.adding, lease._state.db = False, pair._state.db
    return lease


def assignment_release(*, assignment: Assignment) -> bool:
    """Give an open lease back to the pool without judging it (the tab closed, the member was removed or
    deactivated). Locks the lease, then its pair (the order every writer uses).

    The lease row is deleted, not marked expired: a pair given back was never seen through, so the same
    labeler may be served it again (after a reload, say), and the pair's `leased_count` drops by one so it
    can reach its overlap. Returns False when the lease was no longer open (nothing changes).
    """
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().filter(id=assignment.id).first()
        if locked is None or locked.status != AssignmentStatus.OPEN:
            return False
        Assignment.objects.filter(id=locked.id).delete()
        Pair.objects.filter(id=locked.pair_id, leased_count__gt=0).update(leased_count=F("leased_count") - 1)
    return True


def assignments_release_mine(*, labeler: User, assignment_ids: tuple[int, ...]) -> int:
    """Release the labeler's own open leases among `assignment_ids` (a closed workspace tab); others' are ignored.

    Returns how many leases went back to the pool.
    """
    mine = Assignment.objects.filter(id__in=assignment_ids, labeler=labeler, status=AssignmentStatus.OPEN)
    return sum(assignment_release(assignment=lease) for lease in mine.order_by("id"))
