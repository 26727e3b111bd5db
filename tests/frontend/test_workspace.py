"""The labeler workspace end to end in headless Chromium: keyboard-only labeling, skip, flag, empty queue, DB state."""

from __future__ import annotations

import pytest

from labeling.models import Assignment, AssignmentStatus, Comparison, PairFlag

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser

SHOWN_TO_CANONICAL = {"a": {False: "a", True: "b"}, "b": {False: "b", True: "a"}}


def wait_for_pair(page, previous_left: str | None = None) -> tuple[int, str, str]:
    """Wait until a pair other than the previous one is on screen; return (assignment id, left text, right text)."""
    page.wait_for_selector("#task:not([hidden])")
    if previous_left is not None:
        page.wait_for_function(
            "prev => document.getElementById('response-left').textContent !== prev && !document.getElementById('task').hidden",
            arg=previous_left,
        )
    assignment_id = int(page.get_attribute("#task", "data-assignment"))
    return assignment_id, page.inner_text("#response-left"), page.inner_text("#response-right")


def test_labeler_works_through_the_queue_with_the_keyboard_only(
    live_server, make_user, make_project, logged_in, screenshot
):
    labeler = make_user("labeler")
    project = make_project(
        pairs=7, members=[labeler], overlap=1, gold_rate=0.0, instructions="Prefer **accurate** answers."
    )
    page = logged_in(labeler)
    page.wait_for_url(f"**/label/{project.slug}/")

    # (keys pressed, shown choice, shown confidence) for the five judged pairs.
    plan = [
        (["ArrowLeft"], "a", 3),
        (["9"], "b", 9),
        (["t"], "tie", 5),
        (["b"], "both_bad", None),
        (["2", "ArrowLeft"], "a", 2),  # a digit on the left side, then the left arrow, keeps the stronger digit
    ]
    seen = []
    left = None
    for step, (keys, shown_choice, shown_confidence) in enumerate(plan):
        assignment_id, left, right = wait_for_pair(page, left)
        for key in keys:
            page.keyboard.press(key)
        pressed = page.locator("[data-choice][aria-pressed='true']")
        assert pressed.get_attribute("data-choice") == shown_choice
        if shown_confidence is not None:
            assert page.locator("[data-confidence][aria-pressed='true']").get_attribute("data-confidence") == str(
                shown_confidence
            )
        if step == 0:
            screenshot(page, "workspace-choice-made")
        if step == 4:
            page.keyboard.press("r")
            page.keyboard.type("Left is shorter & <b>clearer</b>")
            page.keyboard.press("Escape")
        page.keyboard.press("Enter")
        seen.append((assignment_id, left, right, shown_choice, shown_confidence))

    skipped_id, left, _ = wait_for_pair(page, left)
    page.keyboard.press("s")
    flagged_id, left, _ = wait_for_pair(page, left)
    page.keyboard.press("f")
    page.wait_for_selector("#flag-dialog[open]")
    page.keyboard.press("2")  # broken
    page.keyboard.press("Tab")
    page.keyboard.type("the second answer stops mid-sentence")
    page.keyboard.press("Enter")

    page.wait_for_selector("#empty:not([hidden])")
    page.wait_for_function("() => document.getElementById('done-project').textContent === '5'")
    assert page.inner_text("#remaining") == "0"
    screenshot(page, "workspace-empty-queue")

    comparisons = {
        c.assignment_id: c
        for c in Comparison.objects.filter(labeler=labeler).select_related(
            "pair__sample_a", "pair__sample_b", "assignment"
        )
    }
    assert len(comparisons) == 5
    for assignment_id, left_text, right_text, shown_choice, shown_confidence in seen:
        c = comparisons[assignment_id]
        # Display order, checked from what the page showed rather than from the stored flag.
        shown_swapped = left_text == c.pair.sample_b.text
        assert {left_text, right_text} == {c.pair.sample_a.text, c.pair.sample_b.text}
        assert c.assignment.swapped == shown_swapped
        assert c.shown_choice == shown_choice
        expected_choice = SHOWN_TO_CANONICAL[shown_choice][shown_swapped] if shown_choice in "ab" else shown_choice
        assert c.choice == expected_choice
        assert c.shown_confidence == shown_confidence
        expected_confidence = (
            None if shown_confidence is None else (10 - shown_confidence if shown_swapped else shown_confidence)
        )
        assert c.confidence == expected_confidence
        assert 0 < c.time_spent_ms < 60_000
    assert comparisons[seen[4][0]].rationale == "Left is shorter & <b>clearer</b>"
    assert Assignment.objects.get(id=skipped_id).status == AssignmentStatus.SKIPPED
    assert Assignment.objects.get(id=flagged_id).status == AssignmentStatus.FLAGGED
    flag = PairFlag.objects.get(labeler=labeler)
    assert (flag.reason, flag.note) == ("broken", "the second answer stops mid-sentence")
    assert not Assignment.objects.filter(labeler=labeler, status=AssignmentStatus.OPEN).exists()


def test_workspace_escapes_text_and_shows_instructions(live_server, make_user, make_project, new_page, screenshot):
    import json

    from labeling.services.imports import pairs_import

    labeler = make_user("labeler")
    project = make_project(
        pairs=0,
        members=[labeler],
        gold_rate=0.0,
        instructions="# Rules\n\n<script>window.__pwned = 1</script>Be **kind**.",
    )
    long_prompt = (
        "Human: <img src=x onerror='window.__pwned=2'> hello\n\n"
        + "\n".join(f"line {i}" for i in range(40))
        + "\n\nAssistant:"
    )
    pairs_import(
        project=project,
        lines=[json.dumps({"prompt": long_prompt, "response_a": "<b>bold?</b>\nsecond line", "response_b": "plain"})],
    )
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#response-left b, #response-right b, #prompt img").count() == 0
    assert "<b>bold?</b>" in page.inner_text("#response-left") + page.inner_text("#response-right")
    assert page.locator("#prompt").get_attribute("class").split().count("collapsed") == 1
    page.keyboard.press("p")
    assert "collapsed" not in page.locator("#prompt").get_attribute("class")
    page.keyboard.press("i")
    page.wait_for_selector("#instructions-dialog[open]")
    assert page.locator("#instructions-dialog strong").inner_text() == "kind"
    assert page.locator("#instructions-dialog script").count() == 0
    screenshot(page, "workspace-instructions", full_page=False)
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    page.wait_for_selector("#help-dialog[open]")
    screenshot(page, "workspace-help", full_page=False)


def test_demo_data_in_the_workspace(live_server, new_page, screenshot):
    """The shipped demo (real HH-RLHF dialogues) renders calmly: long prompts collapse to their last turn."""
    from labeling.services.demo import DEMO_PASSWORD, demo_load

    demo_load()
    page = new_page()
    log_in_with_keyboard(page, live_server.url, "labeler", DEMO_PASSWORD)
    page.wait_for_url("**/label/")
    page.goto(f"{live_server.url}/label/hh-harmless/")
    page.wait_for_selector("#task:not([hidden])")
    # The served order is random (gold coin): skip short dialogues until a long one, which collapses, is on screen.
    for _ in range(10):
        if page.locator("#prompt.collapsed").count():
            break
        current = page.get_attribute("#task", "data-assignment")
        page.keyboard.press("s")
        page.wait_for_function(f"() => document.getElementById('task').dataset.assignment !== '{current}'")
    # Each dialogue turn is its own block, Human and Assistant told apart.
    assert page.locator("#prompt .turn-human").count() >= 1 and page.locator("#prompt .turn-assistant").count() >= 1
    # Collapsed to a scrolled box that opens at the end of the dialogue, the turn being answered.
    assert page.evaluate(
        "() => { const p = document.getElementById('prompt'); return p.classList.contains('collapsed') && p.scrollTop > 0 && p.scrollTop + p.clientHeight >= p.scrollHeight - 2; }"
    )
    screenshot(page, "workspace-demo-hh", full_page=False)
    page.goto(f"{live_server.url}/label/fables/")
    page.wait_for_selector("#task:not([hidden])")
    page.keyboard.press("ArrowRight")
    screenshot(page, "workspace-demo-fables", full_page=False)
