"""The REST API: roles and permissions, JSON errors, the label-through-the-API flow."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from labeling.models import Comparison, Pair
from labeling.services.accounts import token_create
from tests.conftest import pair_lines

pytestmark = pytest.mark.django_db


def test_token_auth_and_unauthenticated_requests(labeler):
    anonymous = APIClient()
    assert anonymous.get("/api/v1/projects/").status_code == 401
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token_create(user=labeler).key}")
    me = client.get("/api/v1/me/").json()
    assert me == {"username": labeler.username, "role": "labeler"}


def test_researcher_creates_project_imports_and_adds_members(researcher, labeler, api_client_for):
    client = api_client_for(researcher)
    created = client.post("/api/v1/projects/", {"slug": "summaries", "overlap": 2}, format="json")
    assert created.status_code == 201, created.content
    upload = SimpleUploadedFile("pairs.jsonl", "\n".join(pair_lines(4)).encode())
    imported = client.post("/api/v1/projects/summaries/imports/pairs/", {"file": upload}, format="multipart")
    assert imported.status_code == 201 and imported.json()["pairs_created"] == 4
    assert (
        client.post("/api/v1/projects/summaries/members/", {"username": labeler.username}, format="json").status_code
        == 201
    )
    assert [p["slug"] for p in api_client_for(labeler).get("/api/v1/projects/").json()] == ["summaries"]


def test_invalid_import_reports_lines_and_writes_nothing(researcher, api_client_for, make_project):
    project = make_project(pairs=0)
    lines = pair_lines(2) + ['{"prompt": "x", "response_a": 3, "response_b": "y"}']
    response = api_client_for(researcher).post(
        f"/api/v1/projects/{project.slug}/imports/pairs/", {"lines": lines}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "import_invalid"
    assert body["errors"] == [{"line": 3, "field": "response_a", "message": "must be a string"}]
    assert Pair.objects.filter(project=project).count() == 0


def test_labeler_cannot_manage_or_see_other_projects(labeler, api_client_for, make_project):
    mine = make_project(members=[labeler])
    other = make_project()
    client = api_client_for(labeler)
    assert client.post("/api/v1/projects/", {"slug": "nope"}, format="json").status_code == 403
    assert client.get(f"/api/v1/projects/{other.slug}/").status_code == 404
    assert client.post(f"/api/v1/projects/{other.slug}/next/", {}, format="json").status_code == 404
    assert client.get(f"/api/v1/projects/{mine.slug}/pairs/").status_code == 403
    assert client.post(f"/api/v1/projects/{mine.slug}/imports/pairs/", {"lines": []}, format="json").status_code == 403


def test_label_through_the_api_and_comparison_visibility(make_user, researcher, api_client_for, make_project):
    alice, bob = make_user(), make_user()
    project = make_project(pairs=3, gold_rate=0, members=[alice, bob])
    client = api_client_for(alice)
    shown = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    assert set(shown) == {"assignment_id", "expires_at", "prompt", "response_left", "response_right"}
    submitted = client.post(
        f"/api/v1/assignments/{shown['assignment_id']}/submit/",
        {"choice": "a", "confidence": 2, "time_spent_ms": 4200},
        format="json",
    )
    assert submitted.status_code == 201
    comparison = Comparison.objects.get(id=submitted.json()["comparison_id"])
    pair = comparison.pair
    left_was_a = shown["response_left"] == pair.sample_a.text
    assert comparison.choice == ("a" if left_was_a else "b")
    assert comparison.confidence == (2 if left_was_a else 8)
    # Alice sees her comparison, Bob gets 404 on it, the researcher sees it.
    assert client.get(f"/api/v1/comparisons/{comparison.id}/").status_code == 200
    assert api_client_for(bob).get(f"/api/v1/comparisons/{comparison.id}/").status_code == 404
    assert api_client_for(bob).get("/api/v1/comparisons/").json()["count"] == 0
    assert api_client_for(researcher).get(f"/api/v1/comparisons/?project={project.slug}").json()["count"] == 1
    # A labeler never sees gold answers or policies through the pairs endpoint.
    assert api_client_for(bob).get(f"/api/v1/projects/{project.slug}/pairs/").status_code == 403


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"choice": "a", "confidence": 12}, 400, "invalid"),
        ({"choice": "left"}, 400, "invalid"),
        ({}, 400, "invalid"),
    ],
)
def test_invalid_submissions_are_json_errors(labeler, api_client_for, make_project, payload, status, code):
    project = make_project(pairs=1, gold_rate=0, members=[labeler])
    client = api_client_for(labeler)
    shown = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    response = client.post(f"/api/v1/assignments/{shown['assignment_id']}/submit/", payload, format="json")
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["detail"]
    assert Comparison.objects.count() == 0


def test_double_submit_wrong_assignment_and_empty_queue(labeler, make_user, api_client_for, make_project):
    project = make_project(pairs=1, gold_rate=0, members=[labeler])
    client = api_client_for(labeler)
    shown = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    url = f"/api/v1/assignments/{shown['assignment_id']}/submit/"
    assert api_client_for(make_user()).post(url, {"choice": "a"}, format="json").status_code == 404
    assert client.post(url, {"choice": "a"}, format="json").status_code == 201
    again = client.post(url, {"choice": "b"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_submitted")
    empty = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json")
    assert (empty.status_code, empty.json()["code"]) == (404, "queue_empty")
    assert Comparison.objects.count() == 1


def test_progress_counts(labeler, researcher, api_client_for, make_project):
    project = make_project(pairs=2, gold_rate=0, overlap=1, members=[labeler])
    client = api_client_for(labeler)
    shown = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    client.post(f"/api/v1/assignments/{shown['assignment_id']}/submit/", {"choice": "tie"}, format="json")
    mine = client.get(f"/api/v1/projects/{project.slug}/progress/").json()
    assert mine["me"] == {"done_today": 1, "done_in_project": 1, "remaining": 1}
    assert "project" not in mine
    full = api_client_for(researcher).get(f"/api/v1/projects/{project.slug}/progress/").json()
    assert (full["project"]["complete_pairs"], full["project"]["comparisons"], full["project"]["completion"]) == (
        1,
        1,
        0.5,
    )


def test_openapi_schema_and_docs_are_served(labeler):
    client = APIClient()
    client.force_authenticate(labeler)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/projects/{slug}/next/" in json.loads(schema.content)["paths"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"cdn." not in docs.content
