"""Undo, "My recent judgments" and revise in headless Chromium; all of it in the labeler's shown order only."""

from __future__ import annotations

import json

import pytest

from labeling.models import Comparison

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser

SHOWN_KEYS = {
    "comparison_id",
    "revision",
    "submitted_at",
    "revised_at",
    "prompt",
    "response_left",
    "response_right",
    "shown_choice",
    "shown_confidence",
    "rationale",
}


def on_screen(page) -> tuple[str, str, str]:
    return page.inner_text("#prompt"), page.inner_text("#response-left"), page.inner_text("#response-right")


def wait_for_assignment(page, not_id: str | None = None) -> str:
    page.wait_for_selector("#task:not([hidden])[data-assignment]")
    if not_id is not None:
        page.wait_for_function(
            f"() => (document.getElementById('task').dataset.assignment || '{not_id}') !== '{not_id}'"
        )
    return page.get_attribute("#task", "data-assignment")


def pressed(page) -> tuple[str | None, str | None]:
    choice = page.locator("[data-choice][aria-pressed='true']")
    confidence = page.locator("[data-confidence][aria-pressed='true']")
    return (
        choice.get_attribute("data-choice") if choice.count() else None,
        confidence.get_attribute("data-confidence") if confidence.count() else None,
    )


def test_undo_then_revise_from_the_recent_list(live_server, make_user, make_project, new_page, screenshot):
    labeler = make_user("labeler")
    project = make_project(pairs=4, members=[labeler], overlap=1, gold_rate=0.0)
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    assert page.locator("#undo").is_disabled()

    first = wait_for_assignment(page)
    first_texts = on_screen(page)
    page.keyboard.press("ArrowLeft")  # A better, default confidence 3
    page.keyboard.press("Enter")
    second = wait_for_assignment(page, first)
    original = Comparison.objects.get(assignment_id=int(first))

    # u reopens the judgment just submitted, as it was shown and as it was chosen.
    page.keyboard.press("u")
    page.wait_for_selector("#revise-banner:not([hidden])")
    assert page.get_attribute("#task", "data-comparison") == str(original.id)
    assert on_screen(page) == first_texts
    assert pressed(page) == ("a", "3")
    assert page.inner_text("#submit").startswith("Save revision")
    assert page.locator("#skip").is_disabled() and page.locator("#flag").is_disabled()
    screenshot(page, "workspace-undo-revising", full_page=False)
    page.keyboard.press("9")
    page.keyboard.press("Enter")
    # Back to the pair that waited, with its lease intact.
    page.wait_for_selector("#revise-banner[hidden]", state="attached")
    assert wait_for_assignment(page) == second
    assert "Revision saved" in page.inner_text("#notice")

    revised = Comparison.objects.get(labeler=labeler, is_current=True, assignment_id=int(first))
    assert (revised.revision, revised.shown_choice, revised.shown_confidence) == (2, "b", 9)
    assert revised.supersedes_id == original.id
    swapped = revised.assignment.swapped
    assert revised.choice == ("a" if swapped else "b")
    assert revised.confidence == (1 if swapped else 9)

    # Judge the second pair, then revise the first one again from "My recent judgments".
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.getElementById('task').dataset.assignment !== '{second}'")
    page.keyboard.press("h")
    page.wait_for_selector("#recent-dialog[open] .recent-item")
    items = page.locator(".recent-item")
    assert items.count() == 2
    # Newest submission first; the revised one is marked, in the labeler's own terms.
    assert items.nth(1).get_attribute("data-comparison") == str(revised.id)
    assert "B is better · 9" in items.nth(1).inner_text() and "revised" in items.nth(1).inner_text()
    screenshot(page, "workspace-recent-judgments", full_page=False)
    items.nth(1).locator("button").click()
    page.wait_for_selector("#revise-banner:not([hidden])")
    assert on_screen(page) == first_texts
    assert pressed(page) == ("b", "9")
    page.keyboard.press("t")
    page.keyboard.press("Enter")
    page.wait_for_selector("#revise-banner[hidden]", state="attached")
    third = Comparison.objects.get(labeler=labeler, is_current=True, assignment_id=int(first))
    assert (third.revision, third.shown_choice, third.shown_confidence) == (3, "tie", 5)
    assert Comparison.objects.filter(assignment_id=int(first)).count() == 3

    # The list the page read holds only shown-order fields: no pair, policy, swap or canonical choice.
    body = page.evaluate(
        "url => fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}}).then(r => r.text())",
        f"/api/v1/projects/{project.slug}/my-judgments/",
    )
    rows = json.loads(body)
    assert [set(row) for row in rows] == [SHOWN_KEYS, SHOWN_KEYS]
    assert "policy-one" not in body and "policy-two" not in body
    row = next(r for r in rows if r["comparison_id"] == third.id)
    assert (row["prompt"], row["response_left"], row["response_right"]) == first_texts
    assert (row["shown_choice"], row["shown_confidence"]) == ("tie", 5)


def test_escape_leaves_a_revision_unchanged(live_server, make_user, make_project, new_page):
    labeler = make_user("labeler")
    make_project(pairs=3, members=[labeler], overlap=1, gold_rate=0.0)
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    first = wait_for_assignment(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    second = wait_for_assignment(page, first)
    page.locator("#undo").click()
    page.wait_for_selector("#revise-banner:not([hidden])")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Escape")
    page.wait_for_selector("#revise-banner[hidden]", state="attached")
    assert wait_for_assignment(page) == second
    assert Comparison.objects.get(assignment_id=int(first)).revision == 1
    assert pressed(page) == (None, None)
