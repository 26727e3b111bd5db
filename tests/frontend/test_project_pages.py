"""Researcher pages in the browser: live progress, import errors per line, and what labelers may not reach."""

from __future__ import annotations

import json

import pytest

from labeling.models import Comparison
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, comparison_submit

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser


def judge(project, labeler, n: int) -> list[Comparison]:
    made = []
    for _ in range(n):
        assignment = assignment_next(project=project, labeler=labeler)
        made.append(
            comparison_submit(
                assignment_id=assignment.id,
                labeler=labeler,
                judgment=Judgment(choice="a", confidence=2, time_spent_ms=4000),
            )
        )
    return made


def test_researcher_sees_progress_update(live_server, researcher, make_user, make_project, new_page, screenshot):
    labeler = make_user("labeler")
    project = make_project(pairs=6, members=[labeler], overlap=2, gold_rate=0.0, name="Summaries, round one")
    page = new_page()
    log_in_with_keyboard(page, live_server.url, researcher.username)
    page.wait_for_url("**/projects/")
    page.get_by_role("link", name="Summaries, round one").click()
    page.wait_for_url(f"**/projects/{project.slug}/")
    comparisons = page.locator("#progress [data-live='project.comparisons']")
    assert comparisons.inner_text() == "0"
    page.wait_for_selector("[data-live-status]:has-text('updated')")

    judge(project, labeler, 3)
    page.wait_for_function(
        "() => document.querySelector(\"#progress [data-live='project.comparisons']\").textContent === '3'",
        timeout=15_000,
    )
    assert page.inner_text("#progress [data-live='project.completion']") == "25%"
    assert labeler.username in page.inner_text("#labelers")
    page.reload()
    assert page.locator("#recent tbody tr").count() == 3
    assert (
        page.locator("#agreement").is_visible()
        and page.locator("#rounds").is_visible()
        and page.locator("#exports").is_visible()
    )
    screenshot(page, "project-page")


def test_import_form_shows_errors_per_line_and_imports_a_good_file(
    live_server, researcher, make_project, new_page, tmp_path, console
):
    project = make_project(pairs=0)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        "\n".join(
            [
                json.dumps({"prompt": "p1", "response_a": "x", "response_b": "y"}),
                "{not json",
                json.dumps({"prompt": "p3", "response_a": "only one"}),
            ]
        )
    )
    good = tmp_path / "good.jsonl"
    good.write_text(
        "\n".join(json.dumps({"prompt": f"p{i}", "response_a": f"a{i}", "response_b": f"b{i}"}) for i in range(4))
    )
    page = new_page()
    log_in_with_keyboard(page, live_server.url, researcher.username)
    page.goto(f"{live_server.url}/projects/{project.slug}/")

    console.allow("400 (Bad Request)")
    page.set_input_files("#id_file", str(bad))
    page.get_by_role("button", name="Import").click()
    errors = page.locator("#import-errors")
    errors.wait_for()
    rows = errors.locator("tbody tr").all_inner_texts()
    assert any(r.startswith("2\t") and "not valid JSON" in r for r in rows), rows
    assert any(r.startswith("3\t") and "response_b" in r and "missing" in r for r in rows), rows
    assert project.pairs.count() == 0

    page.set_input_files("#id_file", str(good))
    page.get_by_role("button", name="Import").click()
    page.wait_for_selector(".message.success")
    assert "4 new pairs" in page.inner_text(".messages")
    assert project.pairs.count() == 4


def test_a_labeler_cannot_reach_another_labelers_comparisons(live_server, make_user, make_project, new_page, console):
    first, second = make_user("labeler"), make_user("labeler")
    project = make_project(pairs=4, members=[first, second], gold_rate=0.0)
    other = make_project(pairs=1, members=[first], gold_rate=0.0)
    theirs = judge(project, first, 2)

    console.allow("404 (Not Found)")
    console.allow("403 (Forbidden)")
    page = new_page()
    log_in_with_keyboard(page, live_server.url, second.username)
    for comparison in theirs:
        response = page.goto(f"{live_server.url}/api/v1/comparisons/{comparison.id}/")
        assert response.status == 404
        assert first.username not in page.content()
    listing = page.request.get(f"{live_server.url}/api/v1/comparisons/?project={project.slug}")
    assert listing.status == 200 and listing.json()["count"] == 0
    assert page.goto(f"{live_server.url}/projects/{project.slug}/").status == 403
    assert page.goto(f"{live_server.url}/label/{other.slug}/").status == 404
    assert page.goto(f"{live_server.url}/projects/").status == 403
