"""A submit that carries the next assignment: the same lease rules as the next-pair endpoint, one round trip,
and the labeling loop within its statement budget."""

import threading
from collections import Counter
from functools import partial

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from labeling.models import Assignment, AssignmentStatus, Comparison, Pair
from labeling.services.accounts import token_create
from labeling.services.judgments import Judgment, comparison_submit_and_next
from labeling.services.project_settings import project_remove_member
from labeling.services.token_cache import token_cache
from tests.together import lease_while_any_in_flight, run_together

pytestmark = pytest.mark.django_db
NEVER = lambda: 0.99  # noqa: E731 - uniform() draw that never picks gold
# The labeling loop's SQL statements per judgment once the token is known: lock the lease, store the judgment
# (+ close the lease + move the pair's counters); then sweep expired leases, read the open leases, lock the
# next pair, open the lease (+ raise its counter). Two transactions: the judgment commits on its own.
STATEMENTS_PER_JUDGMENT = 6
COMMITS_PER_JUDGMENT = 2
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def test_submit_returns_the_next_assignment_and_stores_the_judgment(make_user, make_project, api_client_for):
    labeler = make_user()
    project = make_project(pairs=3, members=[labeler], overlap=1, gold_rate=0)
    client = api_client_for(labeler)
    first = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    answer = client.post(
        f"/api/v1/assignments/{first['assignment_id']}/submit/",
        {"choice": "a", "confidence": 2, "next": {}, "progress": True},
        format="json",
    )
    assert answer.status_code == 201
    body = answer.json()
    assert Comparison.objects.get(id=body["comparison_id"]).assignment_id == first["assignment_id"]
    upcoming = body["next"]
    assert set(upcoming) == {"assignment_id", "expires_at", "prompt", "response_left", "response_right"}
    lease = Assignment.objects.select_related("pair__prompt").get(id=upcoming["assignment_id"])
    assert lease.labeler_id == labeler.id and lease.status == AssignmentStatus.OPEN
    assert lease.pair_id != Assignment.objects.get(id=first["assignment_id"]).pair_id
    assert upcoming["prompt"] == lease.pair.prompt.text
    assert Pair.objects.get(id=lease.pair_id).leased_count == 1
    assert body["progress"] == {"done_today": 1, "done_in_project": 1, "remaining": 2}
    assert "next_refusal" not in body


def test_without_next_the_answer_is_unchanged(make_user, make_project, api_client_for):
    labeler = make_user()
    project = make_project(pairs=2, members=[labeler], gold_rate=0)
    client = api_client_for(labeler)
    first = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    body = client.post(f"/api/v1/assignments/{first['assignment_id']}/submit/", {"choice": "b"}, format="json").json()
    assert set(body) == {"comparison_id", "revision"}
    assert Assignment.objects.filter(labeler=labeler, status=AssignmentStatus.OPEN).count() == 0


def test_an_empty_queue_is_a_refusal_and_the_judgment_is_kept(make_user, make_project, api_client_for):
    labeler = make_user()
    project = make_project(pairs=1, members=[labeler], gold_rate=0)
    client = api_client_for(labeler)
    first = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    answer = client.post(
        f"/api/v1/assignments/{first['assignment_id']}/submit/", {"choice": "a", "next": {}}, format="json"
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["next"] is None and body["next_refusal"]["code"] == "queue_empty"
    assert Comparison.objects.filter(id=body["comparison_id"]).exists()


def test_exclude_skips_a_held_lease_and_an_unexcluded_one_is_resumed(make_user, make_project, api_client_for):
    labeler = make_user()
    project = make_project(pairs=6, members=[labeler], gold_rate=0)
    client = api_client_for(labeler)
    shown = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()["assignment_id"]
    held = client.post(f"/api/v1/projects/{project.slug}/next/", {"exclude": [shown]}, format="json").json()
    submit = {"choice": "a", "next": {"exclude": [held["assignment_id"]]}}
    body = client.post(f"/api/v1/assignments/{shown}/submit/", submit, format="json").json()
    assert body["next"]["assignment_id"] not in {shown, held["assignment_id"]}
    # Without the exclusion the held lease is resumed, as the next-pair endpoint does.
    again = {"choice": "a", "next": {}}
    resumed = client.post(f"/api/v1/assignments/{body['next']['assignment_id']}/submit/", again, format="json")
    assert resumed.json()["next"]["assignment_id"] == held["assignment_id"]
    assert Assignment.objects.filter(labeler=labeler, status=AssignmentStatus.OPEN).count() == 1


def test_a_removed_member_gets_no_next_pair(make_user, make_project, api_client_for):
    labeler = make_user()
    project = make_project(pairs=3, members=[labeler], gold_rate=0)
    first = api_client_for(labeler).post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    lease = Assignment.objects.get(id=first["assignment_id"])
    # Removal releases open leases, so race it: the lease is still open when the submit runs.
    from labeling.models import ProjectMembership

    ProjectMembership.objects.filter(project=project, user=labeler).delete()
    done = comparison_submit_and_next(assignment_id=lease.id, labeler=labeler, judgment=Judgment(choice="a"))
    assert done.next is None and done.next_refusal.code == "not_found"
    assert done.comparison.id is not None
    project_remove_member(project=project, user=labeler)


# transaction=True: inside the test's own transaction every atomic() would add SAVEPOINT/RELEASE statements that
# a request never runs.
@pytest.mark.django_db(transaction=True)
def test_the_labeling_loop_stays_within_its_statement_budget(make_user, make_project, settings):
    settings.ARBITER_TOKEN_CACHE_SECONDS = 5
    token_cache.clear()
    labeler = make_user()
    project = make_project(pairs=8, members=[labeler], gold_rate=0)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token_create(user=labeler).key}")
    current = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()["assignment_id"]
    counts = []
    for _ in range(4):
        with CaptureQueriesContext(connection) as queries:
            answer = client.post(f"/api/v1/assignments/{current}/submit/", {"choice": "a", "next": {}}, format="json")
        assert answer.status_code == 201
        statements = [q["sql"] for q in queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
        counts.append((len(statements), sum(q["sql"] == "COMMIT" for q in queries)))
        current = answer.json()["next"]["assignment_id"]
    token_cache.clear()
    assert max(n for n, _ in counts) <= STATEMENTS_PER_JUDGMENT, "\n".join(q["sql"][:90] for q in queries)
    assert max(c for _, c in counts) <= COMMITS_PER_JUDGMENT
    assert Comparison.objects.filter(labeler=labeler).count() == 4


@pytest.mark.django_db(transaction=True)
def test_parallel_labelers_looping_on_submit_respect_overlap_and_never_twice(make_project, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("row locking is what is under test; it needs PostgreSQL")
    project = make_project(pairs=30, overlap=3, gold_rate=0)
    labelers = [make_user() for _ in range(8)]
    from labeling.services.assignment import assignment_next
    from labeling.services.projects import project_add_member

    for labeler in labelers:
        project_add_member(project=project, user=labeler)
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(labeler):
        lease = None
        while True:
            if lease is None:
                take = partial(assignment_next, project=project, labeler=labeler, rng_uniform=NEVER)
                lease = lease_while_any_in_flight(project, take)
                if lease is None:
                    return
            with lock:
                seen.append((labeler.id, lease.pair_id))
            done = comparison_submit_and_next(
                assignment_id=lease.id, labeler=labeler, judgment=Judgment(choice="b"), rng_uniform=NEVER
            )
            lease = done.next

    run_together([partial(work, labeler) for labeler in labelers])
    per_pair = Counter(Comparison.objects.filter(pair__project=project).values_list("pair_id", flat=True))
    assert len(seen) == len(set(seen)), "a labeler was handed the same pair twice"
    assert sum(per_pair.values()) == len(seen) == 90
    for pair in Pair.objects.filter(project=project):
        assert pair.submitted_count == per_pair[pair.id] == 3
        assert pair.leased_count == 0
