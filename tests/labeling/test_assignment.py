"""Assignment: overlap, never twice, leases and their expiry, gold mixing, open-lease limit."""

import contextlib
from datetime import timedelta

import pytest
from django.utils import timezone

from common.errors import LeaseExpired, QueueEmpty, TooManyLeases
from labeling.models import Assignment, AssignmentStatus, Pair
from labeling.services.assignment import assignment_next, assignments_expire_stale
from labeling.services.judgments import Judgment, assignment_skip, comparison_submit
from tests.conftest import pair_lines

pytestmark = pytest.mark.django_db
NEVER = lambda: 0.99  # noqa: E731 - uniform() draw that never picks gold
LEFT = lambda: False  # noqa: E731 - display order not swapped


def judge(project, labeler, now=None):
    assignment = assignment_next(project=project, labeler=labeler, now=now, rng_uniform=NEVER, rng_coin=LEFT)
    comparison_submit(assignment_id=assignment.id, labeler=labeler, judgment=Judgment(choice="a"), now=now)
    return assignment


def test_overlap_is_respected_and_no_labeler_sees_a_pair_twice(make_project, make_user):
    project = make_project(pairs=3, overlap=2, gold_rate=0)
    labelers = [make_user() for _ in range(4)]
    seen = {labeler.id: set() for labeler in labelers}
    for _ in range(3):
        for labeler in labelers:
            with contextlib.suppress(QueueEmpty):
                seen[labeler.id].add(judge(project, labeler).pair_id)
    assert sorted(Pair.objects.filter(project=project).values_list("submitted_count", flat=True)) == [2, 2, 2]
    assert sum(len(s) for s in seen.values()) == 6
    assert all(len(s) == len(Assignment.objects.filter(labeler_id=uid)) for uid, s in seen.items())


def test_pairs_closest_to_completion_come_first(make_project, make_user):
    project = make_project(pairs=5, overlap=3, gold_rate=0)
    first = judge(project, make_user()).pair_id
    assert assignment_next(project=project, labeler=make_user(), rng_uniform=NEVER).pair_id == first


def test_open_lease_is_resumed_and_limit_enforced(make_project, labeler, settings):
    settings.ARBITER = {"MAX_OPEN_LEASES": 2}
    project = make_project(pairs=5, gold_rate=0)
    a1 = assignment_next(project=project, labeler=labeler, rng_uniform=NEVER)
    assert assignment_next(project=project, labeler=labeler, rng_uniform=NEVER).id == a1.id
    a2 = assignment_next(project=project, labeler=labeler, exclude_ids=(a1.id,), rng_uniform=NEVER)
    assert a2.id != a1.id
    with pytest.raises(TooManyLeases):
        assignment_next(project=project, labeler=labeler, exclude_ids=(a1.id, a2.id), rng_uniform=NEVER)


def test_expired_lease_returns_to_the_pool_and_cannot_be_submitted(make_project, make_user):
    project = make_project(pairs=1, overlap=1, gold_rate=0, lease_seconds=60)
    slow, other = make_user(), make_user()
    start = timezone.now()
    lease = assignment_next(project=project, labeler=slow, now=start, rng_uniform=NEVER)
    with pytest.raises(QueueEmpty):
        assignment_next(project=project, labeler=other, now=start + timedelta(seconds=30), rng_uniform=NEVER)
    later = start + timedelta(seconds=61)
    with pytest.raises(LeaseExpired):
        comparison_submit(assignment_id=lease.id, labeler=slow, judgment=Judgment(choice="a"), now=later)
    assert lease.pair.comparisons.count() == 0
    assert assignment_next(project=project, labeler=other, now=later, rng_uniform=NEVER).pair_id == lease.pair_id
    lease.refresh_from_db()
    assert lease.status == AssignmentStatus.EXPIRED
    assert Pair.objects.get(id=lease.pair_id).leased_count == 1


def test_expire_sweep_decrements_leased_count(make_project, labeler):
    project = make_project(pairs=2, gold_rate=0, lease_seconds=10)
    start = timezone.now()
    lease = assignment_next(project=project, labeler=labeler, now=start, rng_uniform=NEVER)
    assert assignments_expire_stale(now=start + timedelta(seconds=5)) == 0
    assert assignments_expire_stale(now=start + timedelta(seconds=11)) == 1
    assert Pair.objects.get(id=lease.pair_id).leased_count == 0


def test_skipped_pairs_never_come_back(make_project, labeler):
    project = make_project(pairs=2, gold_rate=0)
    first = assignment_next(project=project, labeler=labeler, rng_uniform=NEVER)
    assignment_skip(assignment_id=first.id, labeler=labeler)
    second = assignment_next(project=project, labeler=labeler, rng_uniform=NEVER)
    assert second.pair_id != first.pair_id
    assignment_skip(assignment_id=second.id, labeler=labeler)
    with pytest.raises(QueueEmpty):
        assignment_next(project=project, labeler=labeler, rng_uniform=NEVER)


def test_gold_pairs_are_mixed_in_at_the_gold_rate(make_project, labeler):
    project = make_project(pairs=0, gold_rate=0.5)
    from labeling.services.imports import pairs_import

    pairs_import(project=project, lines=pair_lines(4, gold_every=2))  # pairs 0 and 2 are gold
    gold = assignment_next(project=project, labeler=labeler, rng_uniform=lambda: 0.1)
    assert gold.pair.is_gold
    comparison_submit(assignment_id=gold.id, labeler=labeler, judgment=Judgment(choice="b"))
    normal = assignment_next(project=project, labeler=labeler, rng_uniform=lambda: 0.9)
    assert not normal.pair.is_gold


def test_gold_pairs_do_not_count_against_overlap(make_project, make_user):
    project = make_project(pairs=0, gold_rate=1.0, overlap=1)
    from labeling.services.imports import pairs_import

    pairs_import(project=project, lines=pair_lines(1, gold_every=1))
    for _ in range(3):
        labeler = make_user()
        lease = assignment_next(project=project, labeler=labeler, rng_uniform=lambda: 0.0)
        comparison_submit(assignment_id=lease.id, labeler=labeler, judgment=Judgment(choice="a"))
    assert Pair.objects.get(project=project).submitted_count == 3


def test_unseen_gold_pairs_still_come_after_the_normal_ones(make_project, labeler):
    """'Remaining' counts gold pairs, so a labeler whose normal pairs ran out is still served them."""
    from labeling.selectors import labeler_progress
    from labeling.services.imports import pairs_import

    project = make_project(pairs=0, gold_rate=0.5, overlap=1)
    pairs_import(project=project, lines=pair_lines(4, gold_every=2))  # pairs 0 and 2 are gold
    assert labeler_progress(project=project, labeler=labeler).remaining == 4
    served = []
    for _ in range(4):
        lease = assignment_next(project=project, labeler=labeler, rng_uniform=NEVER)
        served.append(lease.pair.is_gold)
        comparison_submit(assignment_id=lease.id, labeler=labeler, judgment=Judgment(choice="a"))
        assert labeler_progress(project=project, labeler=labeler).remaining == 4 - len(served)
    assert served == [False, False, True, True]
    with pytest.raises(QueueEmpty):
        assignment_next(project=project, labeler=labeler, rng_uniform=NEVER)
