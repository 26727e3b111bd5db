"""The workspace when things go wrong: an expired lease, a dropped request, a narrow (200% zoom) window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from common import clock
from labeling.models import Assignment, AssignmentStatus, Comparison

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser


def test_expired_lease_gets_a_message_and_the_next_pair(live_server, make_user, make_project, new_page, console):
    labeler = make_user("labeler")
    make_project(pairs=3, members=[labeler], overlap=1, gold_rate=0.0)
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    first = int(page.get_attribute("#task", "data-assignment"))
    Assignment.objects.filter(id=first).update(expires_at=clock.now() - timedelta(seconds=1))

    console.allow("409 (Conflict)")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    notice = page.locator("#notice")
    notice.wait_for(state="visible")
    assert "ran out" in notice.inner_text() or "no longer yours" in notice.inner_text()
    assert "Nothing was saved" in notice.inner_text()
    assert not Comparison.objects.filter(assignment_id=first).exists()

    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.getElementById('task').dataset.assignment !== '{first}'")
    assert page.locator("#notice").is_hidden()
    assert page.locator("[data-choice][aria-pressed='true']").count() == 0


def test_network_error_keeps_the_choice_and_retries(live_server, make_user, make_project, new_page, console):
    labeler = make_user("labeler")
    make_project(pairs=3, members=[labeler], overlap=1, gold_rate=0.0)
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    first = int(page.get_attribute("#task", "data-assignment"))

    dropped = []

    def drop_first_submit(route):
        if not dropped:
            dropped.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    console.allow("net::ERR_INTERNET_DISCONNECTED")
    page.route("**/submit/", drop_first_submit)
    page.keyboard.press("8")
    page.keyboard.press("Enter")
    page.locator("#notice").wait_for(state="visible")
    assert "your judgment is kept" in page.inner_text("#notice")
    # The choice is still on screen while it waits to resend.
    assert page.locator("[data-choice][aria-pressed='true']").get_attribute("data-choice") == "b"
    page.wait_for_function(f"() => document.getElementById('task').dataset.assignment !== '{first}'", timeout=15_000)
    assert len(dropped) == 1
    comparison = Comparison.objects.get(assignment_id=first)
    assert (comparison.shown_choice, comparison.shown_confidence) == ("b", 8)
    assert Assignment.objects.get(id=first).status == AssignmentStatus.SUBMITTED


def test_workspace_reflows_at_200_percent_zoom(live_server, make_user, make_project, new_page, screenshot):
    labeler = make_user("labeler")
    make_project(pairs=2, members=[labeler], gold_rate=0.0)
    # 200% zoom of a 1280×900 window leaves a 640×450 CSS-pixel viewport.
    page = new_page({"width": 640, "height": 450})
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    left = page.locator("#response-left").bounding_box()
    right = page.locator("#response-right").bounding_box()
    assert right["y"] > left["y"] + left["height"] - 1, "responses should stack on a narrow screen"
    # Nothing (such as the decision panel) covers the text the labeler has to read.
    page.locator("#response-left").scroll_into_view_if_needed()
    covered = page.evaluate(
        """() => { const r = document.getElementById('response-left').getBoundingClientRect();
                   const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height, 40) / 2);
                   return !document.getElementById('response-left').contains(hit); }"""
    )
    assert not covered
    screenshot(page, "workspace-200-percent-zoom")


def test_time_spent_counts_only_the_visible_tab(live_server, make_user, make_project, new_page):
    labeler = make_user("labeler")
    make_project(pairs=2, members=[labeler], overlap=1, gold_rate=0.0)
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    first = int(page.get_attribute("#task", "data-assignment"))
    set_hidden = """hidden => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
                                document.dispatchEvent(new Event('visibilitychange')); }"""
    page.evaluate(set_hidden, True)
    page.wait_for_timeout(2000)
    page.evaluate(set_hidden, False)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.getElementById('task').dataset.assignment !== '{first}'")
    spent = Comparison.objects.get(assignment_id=first).time_spent_ms
    assert 0 < spent < 1500, spent
