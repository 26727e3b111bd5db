"""Server-side routing and permissions of the browser pages (Django test client, no browser)."""

from __future__ import annotations

import pytest
from django.test import Client

from frontend import panels
from tests.conftest import PASSWORD


def client_for(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.mark.django_db
def test_home_sends_labelers_to_their_only_project_and_researchers_to_the_list(labeler, researcher, make_project):
    project = make_project(pairs=1, members=[labeler])
    response = client_for(labeler).get("/", follow=True)
    assert response.redirect_chain[-1][0] == f"/label/{project.slug}/"
    response = client_for(researcher).get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/projects/"


@pytest.mark.django_db
def test_labeler_with_several_projects_gets_a_picker(labeler, make_project):
    first = make_project(pairs=1, members=[labeler], name="First")
    second = make_project(pairs=1, members=[labeler], name="Second")
    response = client_for(labeler).get("/label/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"/label/{first.slug}/" in body and f"/label/{second.slug}/" in body


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login(make_project):
    project = make_project(pairs=1)
    for url in ("/", "/label/", f"/label/{project.slug}/", "/projects/", f"/projects/{project.slug}/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


@pytest.mark.django_db
def test_workspace_never_ships_policy_or_gold_information(labeler, make_project):
    from labeling.services.imports import pairs_import

    project = make_project(pairs=0, members=[labeler], gold_rate=1.0)  # the one (gold) pair is served
    pairs_import(
        project=project,
        lines=[
            '{"prompt": "p", "response_a": "x", "response_b": "y", "policy_a": "secret-policy", "gold_choice": "a"}'
        ],
    )
    client = client_for(labeler)
    page = client.get(f"/label/{project.slug}/")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="workspace"' in body  # the workspace itself, not an error page
    assert "secret-policy" not in body and "gold" not in body.lower()
    # The pair reaches the workspace through the next-pair API: it carries the texts and nothing else.
    lease = client.post(f"/api/v1/projects/{project.slug}/next/", {}, content_type="application/json").json()
    assert sorted(lease) == ["assignment_id", "expires_at", "prompt", "response_left", "response_right"]
    assert lease["prompt"] == "p" and {lease["response_left"], lease["response_right"]} == {"x", "y"}


@pytest.mark.django_db
def test_import_requires_a_researcher_and_csrf(labeler, researcher, make_project):
    project = make_project(pairs=0, members=[labeler])
    assert client_for(labeler).post(f"/projects/{project.slug}/import/").status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.login(username=researcher.username, password=PASSWORD)
    assert strict.post(f"/projects/{project.slug}/import/").status_code == 403


@pytest.mark.django_db
def test_registered_panels_reach_the_project_page(researcher, make_project, monkeypatch):
    project = make_project(pairs=1)
    monkeypatch.setattr(panels, "_PANELS", {})
    panels.register_panel("agreement", lambda *, project, request: {"alpha": 0.42, "slug": project.slug})
    response = client_for(researcher).get(f"/projects/{project.slug}/")
    assert response.context["panels"]["agreement"] == {"alpha": 0.42, "slug": project.slug}
