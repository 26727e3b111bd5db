"""The project page says who holds open leases since when, and a researcher releases them in Chromium."""

from __future__ import annotations

import pytest

from labeling.models import Assignment, AssignmentStatus, Pair
from labeling.services.assignment import assignment_next

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser


def test_researcher_sees_and_releases_open_leases(
    live_server, researcher, make_user, make_project, new_page, screenshot
):
    away, busy = make_user("labeler", username="walked-away"), make_user("labeler", username="still-here")
    project = make_project(pairs=4, members=[away, busy], overlap=1, gold_rate=0.0)
    for _ in range(2):
        assignment_next(project=project, labeler=away, exclude_ids=tuple(
            Assignment.objects.filter(labeler=away).values_list("id", flat=True)
        ))  # fmt: skip
    assignment_next(project=project, labeler=busy)
    page = new_page()
    log_in_with_keyboard(page, live_server.url, researcher.username)
    page.goto(f"{live_server.url}/projects/{project.slug}/#leases")
    row = page.locator("#lease-table tr[data-username='walked-away']")
    assert row.locator("td").nth(1).inner_text() == "2"
    assert "ago" in row.inner_text()
    screenshot(page, "project-open-leases", full_page=False)
    page.get_by_role("button", name="Release the pairs held by walked-away").click()
    page.wait_for_selector(".message.success:has-text('Released 2')")
    assert page.locator("#lease-table tr[data-username='walked-away']").count() == 0
    assert page.locator("#lease-table tr[data-username='still-here']").count() == 1
    assert not Assignment.objects.filter(labeler=away, status=AssignmentStatus.OPEN).exists()
    assert sum(Pair.objects.filter(project=project).values_list("leased_count", flat=True)) == 1
