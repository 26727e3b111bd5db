"""Many labelers at once against PostgreSQL: overlap holds, nobody sees a pair twice, nothing is lost."""

import threading
from collections import Counter
from functools import partial

import pytest
from django.db import connection

from labeling.models import Assignment, Comparison, Pair
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, assignment_skip, comparison_submit
from tests.together import lease_while_any_in_flight, run_together


@pytest.mark.django_db(transaction=True)
def test_parallel_labelers_respect_overlap_and_lose_nothing(make_project, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("row locking is what is under test; it needs PostgreSQL")
    project = make_project(pairs=40, overlap=3, gold_rate=0)
    labelers = [make_user() for _ in range(12)]
    acknowledged: list[int] = []
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(labeler, index):
        while True:
            assignment = lease_while_any_in_flight(project, partial(assignment_next, project=project, labeler=labeler))
            if assignment is None:
                return
            with lock:
                seen.append((labeler.id, assignment.pair_id))
            if (index + assignment.pair_id) % 9 == 0:
                assignment_skip(assignment_id=assignment.id, labeler=labeler)
                continue
            comparison = comparison_submit(
                assignment_id=assignment.id, labeler=labeler, judgment=Judgment(choice="a", confidence=3)
            )
            with lock:
                acknowledged.append(comparison.id)

    run_together([partial(work, labeler, i) for i, labeler in enumerate(labelers)])

    per_pair = Counter(Comparison.objects.filter(pair__project=project).values_list("pair_id", flat=True))
    assert max(per_pair.values()) <= 3
    # Every pair got its three judgments (skips freed places for others), and the counters agree.
    for pair in Pair.objects.filter(project=project):
        assert pair.submitted_count == per_pair[pair.id] == 3
        assert pair.leased_count == 0
    assert len(seen) == len(set(seen)), "a labeler was handed the same pair twice"
    assert sorted(acknowledged) == sorted(Comparison.objects.filter(pair__project=project).values_list("id", flat=True))
    assert Assignment.objects.filter(pair__project=project, status="open").count() == 0
