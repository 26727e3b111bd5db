"""Labeling stays blind: a labeler never learns canonical order, pair identity, policies or quality settings.

The walk enumerates every route of the URL map, so an endpoint added later is covered without touching this test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from labeling.models import Comparison, Role
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, comparison_submit

pytestmark = pytest.mark.django_db

# Keys whose presence in anything a labeler receives would unblind them or link judgments across labelers.
FORBIDDEN_KEYS = {
    "choice", "confidence", "swapped", "pair", "pair_id", "sample_a", "sample_b", "response_a", "response_b",
    "policy", "policy_a", "policy_b", "policies", "new_policy", "is_gold", "gold_choice", "gold_rate",
    "review_threshold", "instruction_template", "labelers", "submitted_count", "leased_count",
}  # fmt: skip
# Routes that describe the API rather than return data, and the one that would end the walk's session.
SKIPPED_ROUTES = {"api/v1/schema/", "api/v1/docs/", "accounts/logout/"}
METHODS = ("get", "post", "put", "patch", "delete")


def routes() -> Iterator[tuple[str, URLPattern]]:
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p

    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("admin/") and route not in SKIPPED_ROUTES:
            yield route, pattern


def methods_of(pattern: URLPattern) -> list[str]:
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is None:
        return ["get"]  # function views of the browser pages
    return [m for m in METHODS if hasattr(view_class, m)]


def keys_in(value, *, path: str = "") -> Iterator[str]:
    """Every key of a JSON document, except inside `errors` (validation errors are keyed by input field)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            if key != "errors":
                yield from keys_in(item, path=f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from keys_in(item, path=path)


BODIES = {
    "api/v1/assignments/<int:assignment_id>/submit/": {"choice": "a", "confidence": 3, "rationale": "ok"},
    "api/v1/comparisons/<int:comparison_id>/revise/": {"choice": "b", "confidence": 7},
    "api/v1/assignments/<int:assignment_id>/flag/": {"reason": "broken"},
}


def test_nothing_a_labeler_can_reach_unblinds_them(make_user, make_project, researcher):
    labeler = make_user(Role.LABELER)
    project = make_project(pairs=12, gold_rate=0.5, members=[labeler], slug="blind")
    for pair in project.pairs.all()[:4]:
        pair.is_gold, pair.gold_choice = True, "a"
        pair.save()
    judged = assignment_next(project=project, labeler=labeler)
    comparison_submit(assignment_id=judged.id, labeler=labeler, judgment=Judgment(choice="a", confidence=2))
    policy_names = {"policy-one", "policy-two"}

    client = APIClient()
    client.force_login(labeler)
    token_key = client.post("/api/v1/tokens/").json()["token_key"]

    def value_for(name: str) -> str:
        if name == "slug":
            return project.slug
        if name == "assignment_id":
            return str(assignment_next(project=project, labeler=labeler).id)
        if name == "comparison_id":
            return str(Comparison.objects.filter(labeler=labeler, is_current=True).latest("id").id)
        if name == "token_key":
            return token_key
        if name in {"export_id", "number", "experiment_id", "index"}:
            return "1"
        if name == "phase":  # a launched job's log: researchers only
            return "sampling"
        if name == "name":
            return "manifest.json"
        if name == "action":
            return "start"
        if name == "user_id":  # researcher/admin pages about a person: a labeler must get nothing from them
            return str(labeler.id)
        if name == "pair_id":  # the pair page names labelers and policies: researchers only
            return str(judged.pair_id)
        raise AssertionError(f"A new route parameter {name!r}: give the walk a value for it")

    walked = 0
    for route, pattern in routes():
        for method in methods_of(pattern):
            path = "/" + _fill(route, value_for)
            if method == "get":
                response = client.get(path + ("?all_revisions=1" if "comparisons" in route else ""))
            else:
                response = getattr(client, method)(path, BODIES.get(route, {}), format="json")
            assert response.status_code < 500 and response.status_code != 401, (method, path, response.status_code)
            walked += 1
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = body.decode("utf-8", errors="replace")
            for name in policy_names:
                assert name not in text, (method, path, f"policy name {name!r} shown to a labeler")
            if response.get("Content-Type", "").startswith("application/json") and body:
                found = FORBIDDEN_KEYS.intersection(keys_in(json.loads(body)))
                assert not found, (method, path, sorted(found))
            else:
                for key in ("gold_rate", "review_threshold", "swapped", "gold_choice"):
                    assert key not in text, (method, path, key)
    assert walked >= 35
    # The walk did reach the labeler's own data, as shown to them.
    mine = client.get("/api/v1/comparisons/").json()["results"]
    assert mine and {"shown_choice", "shown_confidence", "response_left", "response_right"} <= set(mine[0])


def _fill(route: str, value_for) -> str:
    """Replace each <converter:name> of a route with a value for that name."""
    out, rest = [], route
    while "<" in rest:
        head, tail = rest.split("<", 1)
        spec, rest = tail.split(">", 1)
        out.append(head)
        out.append(value_for(spec.split(":")[-1]))
    out.append(rest)
    return "".join(out)


def test_labeler_sees_judgment_as_shown_researcher_sees_canonical(make_user, make_project, researcher, api_client_for):
    labeler = make_user(Role.LABELER)
    project = make_project(pairs=2, gold_rate=0, members=[labeler])
    shown = api_client_for(labeler).post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    api_client_for(labeler).post(
        f"/api/v1/assignments/{shown['assignment_id']}/submit/", {"choice": "a", "confidence": 2}, format="json"
    )
    comparison = Comparison.objects.get()
    mine = api_client_for(labeler).get(f"/api/v1/comparisons/{comparison.id}/").json()
    assert (mine["shown_choice"], mine["shown_confidence"]) == ("a", 2)
    assert (mine["response_left"], mine["response_right"]) == (shown["response_left"], shown["response_right"])
    theirs = api_client_for(researcher).get(f"/api/v1/comparisons/{comparison.id}/").json()
    assert theirs["swapped"] == comparison.assignment.swapped
    assert (theirs["choice"], theirs["confidence"]) == (comparison.choice, comparison.confidence)
    detail = api_client_for(labeler).get(f"/api/v1/projects/{project.slug}/").json()
    assert "gold_rate" not in detail and "review_threshold" not in detail and detail["slug"] == project.slug
    assert "gold_rate" in api_client_for(researcher).get(f"/api/v1/projects/{project.slug}/").json()


@pytest.mark.parametrize(
    ("choice", "confidence", "status"),
    [
        ("tie", 1, 400),
        ("tie", 9, 400),
        ("both_bad", 9, 400),
        ("both_bad", 2, 400),
        ("tie", 5, 201),
        ("tie", None, 201),
        ("both_bad", None, 201),
        ("both_bad", 5, 201),
    ],
)
def test_tie_and_both_bad_only_with_the_midpoint(make_user, make_project, api_client_for, choice, confidence, status):
    labeler = make_user(Role.LABELER)
    project = make_project(pairs=1, gold_rate=0, members=[labeler])
    client = api_client_for(labeler)
    shown = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    response = client.post(
        f"/api/v1/assignments/{shown['assignment_id']}/submit/",
        {"choice": choice, "confidence": confidence},
        format="json",
    )
    assert response.status_code == status, response.content
    if status == 400:
        body = response.json()
        assert "midpoint 5" in body["detail"] and "confidence" in body["errors"]
        assert Comparison.objects.count() == 0
        return
    # A revision is held to the same rule.
    revise = client.post(
        f"/api/v1/comparisons/{response.json()['comparison_id']}/revise/",
        {"choice": "tie", "confidence": 8},
        format="json",
    )
    assert revise.status_code == 400 and Comparison.objects.count() == 1


def test_tie_on_an_even_scale_takes_no_confidence(make_user, make_project, api_client_for):
    labeler = make_user(Role.LABELER)
    project = make_project(pairs=1, gold_rate=0, members=[labeler], confidence_min=1, confidence_max=4)
    client = api_client_for(labeler)
    shown = client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json").json()
    url = f"/api/v1/assignments/{shown['assignment_id']}/submit/"
    refused = client.post(url, {"choice": "tie", "confidence": 2}, format="json")
    assert refused.status_code == 400 and "no confidence" in refused.json()["detail"]
    assert client.post(url, {"choice": "tie"}, format="json").status_code == 201
