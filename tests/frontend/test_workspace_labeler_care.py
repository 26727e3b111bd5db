"""The workspace is honest with the labeler: true counts, leases given back when the tab goes, a server error
told apart from a network one, a content warning acknowledged once, dialogues shown as turns, a compact panel."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from labeling.models import Assignment, AssignmentStatus, Comparison, Pair, ProjectMembership
from labeling.services.imports import pairs_import

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser


def test_remaining_counts_gold_pairs_too(live_server, make_user, make_project, new_page):
    labeler = make_user("labeler")
    project = make_project(pairs=3, members=[labeler], overlap=1, gold_rate=0.5)
    gold = [
        json.dumps({"prompt": f"gold {i}", "response_a": "right", "response_b": "wrong", "gold_choice": "a"})
        for i in range(2)
    ]
    pairs_import(project=project, lines=gold)
    assert Pair.objects.filter(project=project, is_gold=True).count() == 2
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    assert page.inner_text("#remaining") == "5"
    served = 0
    while True:
        page.wait_for_selector("#task:not([hidden]), #empty:not([hidden])")
        if page.locator("#empty:not([hidden])").count():
            break
        current = page.get_attribute("#task", "data-assignment")
        # Remaining counts the pair on screen and every one still to come (it refreshes as each pair shows).
        page.wait_for_function(f"() => document.getElementById('remaining').textContent === '{5 - served}'")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("Enter")
        served += 1
        page.wait_for_function(
            f"() => !document.getElementById('empty').hidden || document.getElementById('task').dataset.assignment !== '{current}'"
        )
    assert served == 5
    page.wait_for_function("() => document.getElementById('remaining').textContent === '0'")


def test_counts_fetched_before_a_submit_never_overwrite_the_submits_own(live_server, make_user, make_project, new_page):
    """The workspace asks for the labeler's counts as each pair shows; when that answer (counted before the
    submit) arrives after the submit's own counts, the older one is not shown."""
    labeler = make_user("labeler")
    project = make_project(pairs=3, members=[labeler], overlap=1, gold_rate=0.0)
    page = new_page()
    asked, held = [], []

    def progress(route):
        asked.append(route.request.url)
        if len(asked) == 2:  # the one asked as the first pair shows: answered now, delivered late
            held.append((route, route.fetch()))
        else:
            route.continue_()

    page.route(f"**/api/v1/projects/{project.slug}/progress/", progress)
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    page.wait_for_function("() => document.getElementById('remaining').textContent === '3'")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    first = page.get_attribute("#task", "data-assignment")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('remaining').textContent === '2'")
    assert Comparison.objects.filter(labeler=labeler).count() == 1
    route, stale = held[0]
    assert json.loads(stale.text())["me"]["remaining"] == 3
    route.fulfill(response=stale)
    # The next pair waits on that answer, so once it shows the stale counts have been read.
    page.wait_for_function(f"() => document.getElementById('task').dataset.assignment !== '{first}'")
    assert page.inner_text("#remaining") == "2"


def test_leases_go_back_when_the_tab_goes_away(live_server, make_user, make_project, new_page):
    labeler = make_user("labeler")
    project = make_project(pairs=4, members=[labeler], overlap=1, gold_rate=0.0)
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    # The pair on screen and the prefetched next one.
    for _ in range(50):
        if Assignment.objects.filter(labeler=labeler, status=AssignmentStatus.OPEN).count() == 2:
            break
        page.wait_for_timeout(100)
    held = set(Assignment.objects.filter(labeler=labeler, status=AssignmentStatus.OPEN).values_list("id", flat=True))
    assert len(held) == 2
    assert sum(Pair.objects.filter(project=project).values_list("leased_count", flat=True)) == 2

    page.goto("about:blank")  # pagehide: the beacon goes out as the page unloads
    for _ in range(150):  # up to 15 s: on a loaded machine the live server answers the beacon late
        if not Assignment.objects.filter(id__in=held, status=AssignmentStatus.OPEN).exists():
            break
        page.wait_for_timeout(100)
    assert not Assignment.objects.filter(labeler=labeler, status=AssignmentStatus.OPEN).exists()
    assert sum(Pair.objects.filter(project=project).values_list("leased_count", flat=True)) == 0
    # Coming back (a reload, say) serves the given-back pairs again: none of the 4 is lost to this labeler.
    page.goto(f"{live_server.url}/label/{project.slug}/")
    page.wait_for_selector("#task:not([hidden])")
    assert page.inner_text("#remaining") == "4"


def test_release_endpoint_only_touches_the_callers_own_leases(make_user, make_project, api_client_for):
    alice, bob = make_user("labeler"), make_user("labeler")
    make_project(pairs=2, members=[alice, bob], overlap=2, gold_rate=0.0)
    slug = Pair.objects.first().project.slug
    mine = api_client_for(alice).post(f"/api/v1/projects/{slug}/next/", {}, format="json").json()["assignment_id"]
    theirs = api_client_for(bob).post(f"/api/v1/projects/{slug}/next/", {}, format="json").json()["assignment_id"]
    response = api_client_for(alice).post("/api/v1/assignments/release/", {"assignment": [mine, theirs]})
    assert response.status_code == 200 and response.json() == {"released": 1}
    assert not Assignment.objects.filter(id=mine).exists()
    assert Assignment.objects.get(id=theirs).status == AssignmentStatus.OPEN
    assert sorted(Pair.objects.values_list("leased_count", flat=True)) == [0, 1]


@pytest.fixture
def comparisons_refused():
    """Make the real database refuse new comparisons (a CHECK that new rows fail), so the server answers 500."""

    def refuse(on: bool) -> None:
        with connection.cursor() as cursor:
            if on:
                cursor.execute("ALTER TABLE labeling_comparison ADD CONSTRAINT f15_refuse CHECK (id < 0) NOT VALID")
            else:
                cursor.execute("ALTER TABLE labeling_comparison DROP CONSTRAINT IF EXISTS f15_refuse")

    yield refuse
    refuse(False)


def test_a_server_error_is_told_apart_from_a_network_error(
    live_server, make_user, make_project, new_page, console, comparisons_refused, screenshot
):
    labeler = make_user("labeler")
    make_project(pairs=3, members=[labeler], overlap=1, gold_rate=0.0)
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    first = page.get_attribute("#task", "data-assignment")
    comparisons_refused(True)
    console.allow("500 (Internal Server Error)")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    notice = page.locator("#notice")
    notice.wait_for(state="visible")
    assert "server could not save this" in notice.inner_text()
    assert "retrying" in notice.inner_text() and "Network" not in notice.inner_text()
    screenshot(page, "workspace-server-error", full_page=False)
    assert not Comparison.objects.filter(assignment_id=int(first)).exists()
    comparisons_refused(False)
    notice.get_by_role("button", name="Retry now").click()
    page.wait_for_function(f"() => document.getElementById('task').dataset.assignment !== '{first}'")
    assert Comparison.objects.get(assignment_id=int(first)).shown_choice == "b"


def test_content_warning_is_acknowledged_once(live_server, make_user, make_project, new_page, screenshot):
    labeler = make_user("labeler")
    project = make_project(
        pairs=2,
        members=[labeler],
        gold_rate=0.0,
        content_warning="This project holds **red-team** dialogues: offensive and upsetting text.",
    )
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#content-warning")
    assert page.locator("#content-warning strong").inner_text() == "red-team"
    assert page.locator("#task").is_hidden()
    assert not Assignment.objects.filter(labeler=labeler).exists(), "no pair is leased before the warning is read"
    page.keyboard.press("ArrowLeft")  # shortcuts wait too
    assert not Comparison.objects.exists()
    screenshot(page, "workspace-content-warning", full_page=False)
    page.locator("#content-warning-ack").click()
    page.wait_for_selector("#task:not([hidden])")
    assert ProjectMembership.objects.get(project=project, user=labeler).content_warning_acknowledged_at is not None
    page.reload()
    page.wait_for_selector("#task:not([hidden])")
    assert page.locator("#content-warning").count() == 0


HH_PROMPT = (
    "\n\nHuman: My neighbour's dog barks all night. What can I do?"
    "\n\nAssistant: Have you talked to your neighbour about it?"
    "\n\nHuman: Yes, twice. Nothing changed.\n\nAssistant:"
)


def test_dialogue_turns_are_distinct_and_the_panel_is_compact(
    live_server, make_user, make_project, new_page, screenshot
):
    labeler = make_user("labeler")
    project = make_project(pairs=0, members=[labeler], gold_rate=0.0)
    long_answer = "\n\n".join(f"Paragraph {i}: " + "a considered, lengthy suggestion " * 8 for i in range(12))
    pairs_import(
        project=project,
        lines=[json.dumps({"prompt": HH_PROMPT, "response_a": long_answer, "response_b": "Call the council."})],
    )
    page = new_page({"width": 1280, "height": 900})
    log_in_with_keyboard(page, live_server.url, labeler.username)
    page.wait_for_selector("#task:not([hidden])")
    humans, assistants = page.locator("#prompt .turn-human"), page.locator("#prompt .turn-assistant")
    assert humans.count() == 2 and assistants.count() == 2
    assert "answered by the two responses below" in assistants.nth(1).inner_text()
    assert humans.nth(1).locator(".turn-text").inner_text() == "Yes, twice. Nothing changed."
    assert page.evaluate(
        "() => getComputedStyle(document.querySelector('.turn-human')).backgroundColor !== "
        "getComputedStyle(document.querySelector('.turn-assistant')).backgroundColor"
    )
    panel = page.locator(".decide").bounding_box()
    assert panel["height"] <= 140, panel
    # Every shortcut still works from the compact panel.
    page.keyboard.press("2")
    assert page.locator("[data-confidence='2']").get_attribute("aria-pressed") == "true"
    # The compact scale shows digits; each step keeps its meaning as its accessible name.
    assert page.locator("[data-confidence='2']").get_attribute("aria-label") == "2: A better"
    screenshot(page, "workspace-dialogue-compact", full_page=False)
