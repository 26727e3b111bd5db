"""Nothing is deleted by accident: people with a record are deactivated, projects with judgments archived."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db.models import ProtectedError
from django.test import Client

from labeling.models import Assignment, Pair, PairFlag, Role
from labeling.services.accounts import user_deactivate
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, assignment_flag, comparison_submit
from labeling.services.projects import project_archive
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def flagger_with_open_lease(make_user, make_project):
    """A labeler who flagged one pair, judged nothing, and holds an open lease on another."""
    labeler = make_user(Role.LABELER)
    project = make_project(pairs=3, gold_rate=0, overlap=1, members=[labeler])
    flagged = assignment_next(project=project, labeler=labeler)
    assignment_flag(assignment_id=flagged.id, labeler=labeler, reason="offensive")
    held = assignment_next(project=project, labeler=labeler)
    assert Pair.objects.get(id=held.pair_id).leased_count == 1
    return labeler, project, flagged, held


def test_a_flagger_cannot_be_deleted_and_their_flag_stays(make_user, make_project, admin_client):
    labeler, _, flagged, _ = flagger_with_open_lease(make_user, make_project)
    with pytest.raises(ProtectedError):
        labeler.delete()
    # Django admin: the delete page is refused, and the bulk action lists what protects the user.
    assert admin_client.get(f"/admin/auth/user/{labeler.id}/delete/").status_code == 403
    bulk = admin_client.post(
        "/admin/auth/user/", {"action": "delete_selected", "_selected_action": [labeler.id], "post": "yes"}
    )
    assert bulk.status_code in (200, 302, 403)
    assert User.objects.filter(id=labeler.id).exists()
    assert PairFlag.objects.filter(pair_id=flagged.pair_id, labeler=labeler).exists()


def test_a_new_account_with_no_record_can_still_be_deleted(make_user, admin_client):
    fresh = make_user(Role.LABELER)
    response = admin_client.post(f"/admin/auth/user/{fresh.id}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not User.objects.filter(id=fresh.id).exists()


def test_deactivation_releases_leases_keeps_flags_and_blocks_login(make_user, make_project):
    labeler, project, flagged, held = flagger_with_open_lease(make_user, make_project)
    done = user_deactivate(user=labeler)
    assert (done.leases_released, done.tokens_revoked) == (1, 0)
    # A released lease is removed, not expired: an expired one would count as "already had" for its labeler.
    assert not Assignment.objects.filter(id=held.id).exists()
    assert Pair.objects.get(id=held.pair_id).leased_count == 0
    assert PairFlag.objects.filter(pair_id=flagged.pair_id, resolved_at__isnull=True).exists()
    assert not Client().login(username=labeler.username, password=PASSWORD)
    # The released pair can reach its overlap with someone else.
    other = make_user(Role.LABELER)
    lease = assignment_next(project=project, labeler=other)
    comparison_submit(assignment_id=lease.id, labeler=other, judgment=Judgment(choice="a"))
    assert Pair.objects.filter(project=project, submitted_count=1).exists()


def test_admin_deactivate_action(make_user, make_project, admin_client):
    labeler, _, _, held = flagger_with_open_lease(make_user, make_project)
    response = admin_client.post("/admin/auth/user/", {"action": "deactivate", "_selected_action": [labeler.id]})
    assert response.status_code == 302
    labeler.refresh_from_db()
    assert not labeler.is_active
    assert Pair.objects.get(id=held.pair_id).leased_count == 0


def test_archived_project_keeps_data_and_hands_out_no_pairs(
    make_user, make_project, researcher, api_client_for, admin_client
):
    labeler = make_user(Role.LABELER)
    project = make_project(pairs=3, gold_rate=0, members=[labeler])
    lease = assignment_next(project=project, labeler=labeler)
    comparison_submit(assignment_id=lease.id, labeler=labeler, judgment=Judgment(choice="b", confidence=8))
    export = api_client_for(researcher).post(
        f"/api/v1/projects/{project.slug}/exports/", {"format": "raw"}, format="json"
    )
    assert export.status_code in (201, 202), export.content

    assert api_client_for(labeler).post(f"/api/v1/projects/{project.slug}/archive/").status_code == 403
    archived = api_client_for(researcher).post(f"/api/v1/projects/{project.slug}/archive/")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    refused = api_client_for(labeler).post(f"/api/v1/projects/{project.slug}/next/", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "project_archived")
    # Nothing was deleted: judgments, pairs and the export record stay, and the project is still listed.
    assert project.pairs.count() == 3 and project.exports.count() == 1
    listed = api_client_for(researcher).get(f"/api/v1/projects/{project.slug}/exports/")
    assert listed.status_code == 200
    # The project's data can't be deleted from Django admin either.
    assert admin_client.get(f"/admin/labeling/project/{project.id}/delete/").status_code == 403
    with pytest.raises(ProtectedError):
        project.delete()

    assert api_client_for(researcher).post(f"/api/v1/projects/{project.slug}/unarchive/").json()["archived"] is False
    assert api_client_for(labeler).post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").status_code == 200


def test_archiving_twice_keeps_the_first_date(make_project, researcher):
    project = make_project(pairs=0)
    first = project_archive(project=project, archived_by=researcher).archived_at
    assert project_archive(project=project).archived_at == first
