"""The hand-written statements of the labeling hot path (labeling.services.labeling_sql), each on its own."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.models import Assignment, AssignmentStatus, Comparison, Pair
from labeling.services import labeling_sql
from labeling.services.assignment import assignment_next
from labeling.services.project_settings import project_remove_member

pytestmark = pytest.mark.django_db
NEVER = lambda: 0.99  # noqa: E731 - uniform() draw that never picks gold


def test_lease_insert_opens_a_lease_and_counts_it_once_per_labeler(make_project, labeler):
    project = make_project(pairs=2, gold_rate=0)
    pair = Pair.objects.filter(project=project).first()
    now = timezone.now()
    lease_id = labeling_sql.lease_insert(
        pair=pair, labeler_id=labeler.pk, swapped=True, created_at=now, expires_at=now + timedelta(minutes=5)
    )
    lease = Assignment.objects.get(id=lease_id)
    assert (lease.pair_id, lease.labeler_id, lease.status, lease.swapped) == (pair.id, labeler.id, "open", True)
    assert Pair.objects.get(id=pair.id).leased_count == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        labeling_sql.lease_insert(pair=pair, labeler_id=labeler.pk, swapped=False, created_at=now, expires_at=now)
    assert Pair.objects.get(id=pair.id).leased_count == 1


def test_judgment_insert_stores_closes_and_moves_the_counters(make_project, labeler):
    project = make_project(pairs=2, gold_rate=0)
    lease = assignment_next(project=project, labeler=labeler, rng_uniform=NEVER)
    row = labeling_sql.JudgmentRow(
        choice="b", shown_choice="a", confidence=7, shown_confidence=3, rationale="why", time_spent_ms=1234
    )
    comparison = labeling_sql.judgment_insert(assignment=lease, row=row, now=timezone.now())
    stored = Comparison.objects.get(id=comparison.id)
    assert (stored.choice, stored.shown_choice, stored.confidence, stored.shown_confidence) == ("b", "a", 7, 3)
    assert (stored.rationale, stored.time_spent_ms, stored.revision, stored.is_current) == ("why", 1234, 1, True)
    assert Assignment.objects.get(id=lease.id).status == AssignmentStatus.SUBMITTED
    pair = Pair.objects.get(id=lease.pair_id)
    assert (pair.submitted_count, pair.leased_count) == (1, 0)


def test_lease_lock_loads_the_project_and_says_whether_the_labeler_is_a_member(make_project, labeler, make_user):
    project = make_project(pairs=2, gold_rate=0, members=[labeler], overlap=2)
    lease = assignment_next(project=project, labeler=labeler, rng_uniform=NEVER)
    with transaction.atomic():
        locked = labeling_sql.lease_lock(assignment_id=lease.id, labeler_id=labeler.pk)
        assert locked.lease.pair.project == project and locked.lease.pair.project.overlap == 2
        assert (locked.lease.status, locked.lease.labeler_id, locked.labeler_is_member) == ("open", labeler.id, True)
        assert labeling_sql.lease_lock(assignment_id=lease.id, labeler_id=make_user().pk).labeler_is_member is False
        assert labeling_sql.lease_lock(assignment_id=lease.id + 1000, labeler_id=labeler.pk) is None
    # Every column reads as the ORM reads it (aware datetimes, booleans, decoded JSON), not as the driver returns it.
    for raw, orm in ((locked.lease, Assignment.objects.get(id=lease.id)), (locked.lease.pair.project, project)):
        for field in type(orm)._meta.concrete_fields:
            ours, theirs = getattr(raw, field.attname), getattr(orm, field.attname)
            assert (ours, type(ours)) == (theirs, type(theirs)), field.attname
    project_remove_member(project=project, user=labeler)


def test_stale_leases_lock_finds_only_expired_open_leases_of_the_project(make_project, make_user):
    mine, other = make_project(pairs=3, gold_rate=0), make_project(pairs=3, gold_rate=0)
    start = timezone.now()
    labeler = make_user()
    leases = [assignment_next(project=mine, labeler=labeler, now=start, rng_uniform=NEVER, exclude_ids=())]
    assignment_next(project=other, labeler=labeler, now=start, rng_uniform=NEVER)
    later = start + timedelta(seconds=mine.lease_seconds + 1)
    assert labeling_sql.stale_leases_lock(project_id=mine.id, now=start, limit=10) == []
    assert labeling_sql.stale_leases_lock(project_id=mine.id, now=later, limit=10) == [
        (leases[0].id, leases[0].pair_id)
    ]
    assert len(labeling_sql.stale_leases_lock(project_id=None, now=later, limit=10)) == 2
    assert len(labeling_sql.stale_leases_lock(project_id=None, now=later, limit=1)) == 1


def test_open_leases_read_returns_live_leases_with_their_screens(make_project, labeler):
    project = make_project(pairs=3, gold_rate=0)
    now = timezone.now()
    first = assignment_next(project=project, labeler=labeler, now=now, rng_uniform=NEVER)
    second = assignment_next(project=project, labeler=labeler, now=now, exclude_ids=(first.id,), rng_uniform=NEVER)
    read = labeling_sql.open_leases_read(project_id=project.id, labeler_id=labeler.pk, now=now)
    assert [lease.id for lease in read] == [first.id, second.id]
    pair = Pair.objects.select_related("prompt", "sample_a", "sample_b").get(id=first.pair_id)
    assert (read[0].pair.prompt.text, read[0].pair.sample_a.text, read[0].pair.sample_b.text) == (
        pair.prompt.text,
        pair.sample_a.text,
        pair.sample_b.text,
    )
    assert read[0].swapped == first.swapped and read[0].expires_at == first.expires_at
    expired = now + timedelta(seconds=project.lease_seconds)
    assert labeling_sql.open_leases_read(project_id=project.id, labeler_id=labeler.pk, now=expired) == []
