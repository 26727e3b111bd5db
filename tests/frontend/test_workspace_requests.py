"""The workspace's traffic: once the first pair and the prefetched one are loaded, each judgment is one request
(the submit, which brings back the pair after the prefetched one and the labeler's counts)."""

from __future__ import annotations

import pytest

from labeling.models import Assignment, AssignmentStatus, Comparison

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser


def test_each_judgment_is_one_request(live_server, make_user, make_project, new_page):
    labeler = make_user("labeler")
    make_project(pairs=8, members=[labeler], overlap=1, gold_rate=0.0)
    page = new_page()
    api_calls: list[str] = []
    page.on("request", lambda r: "/api/" in r.url and api_calls.append(f"{r.method} {r.url.split('/api/v1')[1]}"))
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    # The page is settled once the prefetched pair is held (two open leases).
    page.wait_for_function("() => document.getElementById('remaining').textContent !== ''")
    page.wait_for_timeout(500)
    assert Assignment.objects.filter(labeler=labeler, status=AssignmentStatus.OPEN).count() == 2

    judged = 4
    for step in range(judged):
        shown = page.get_attribute("#task", "data-assignment")
        before = len(api_calls)
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => document.getElementById('task').dataset.assignment !== '{shown}'")
        page.wait_for_function("n => document.getElementById('done-project').textContent === String(n)", arg=step + 1)
        page.wait_for_timeout(300)  # a request the page would send after showing the pair
        during = api_calls[before:]
        assert [c for c in during if not c.startswith("POST /assignments/")] == [], during
        assert len(during) == 1 and during[0].endswith("/submit/"), during
    assert Comparison.objects.filter(labeler=labeler).count() == judged
    # Still one pair on screen and one prefetched, each leased once.
    open_leases = Assignment.objects.filter(labeler=labeler, status=AssignmentStatus.OPEN)
    assert open_leases.count() == 2
    assert page.inner_text("#remaining") == str(8 - judged)
