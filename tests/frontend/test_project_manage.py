"""Researchers create a project, edit its settings (Markdown preview, locked fields) and its members in Chromium."""

from __future__ import annotations

import pytest

from labeling.models import Assignment, Pair, Project, ProjectMembership
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, comparison_submit

pytestmark = pytest.mark.browser


def test_researcher_creates_a_project_and_edits_it(live_server, researcher, logged_in, console, screenshot):
    console.allow("400 (Bad Request)")  # the refused form below answers 400, as a form with errors should
    page = logged_in(researcher)
    page.goto(f"{live_server.url}/projects/")
    page.get_by_role("link", name="New project").click()
    page.fill("#id_slug", "reddit-tldr")
    page.fill("#id_name", "Reddit TL;DR")
    page.fill("#id_instructions", "Prefer the **faithful** summary.\n\n- no new facts")
    page.fill("#id_overlap", "2")
    page.get_by_role("button", name="Preview instructions").click()
    assert page.locator("#instructions-preview strong").inner_text() == "faithful"
    assert not Project.objects.filter(slug="reddit-tldr").exists(), "a preview saves nothing"
    screenshot(page, "project-new-preview")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url("**/projects/reddit-tldr/")
    project = Project.objects.get(slug="reddit-tldr")
    assert (project.name, project.overlap, project.created_by_id) == ("Reddit TL;DR", 2, researcher.id)
    assert ProjectMembership.objects.filter(project=project, user=researcher).exists()

    # A bad value is refused with the reason next to the field, and nothing changes.
    page.get_by_role("link", name="Settings and members").click()
    page.fill("#id_gold_rate", "1.5")
    page.get_by_role("button", name="Save settings").click()
    assert "1.0" in page.inner_text("#field-gold_rate .field-error")
    project.refresh_from_db()
    assert project.gold_rate == pytest.approx(0.1)
    page.fill("#id_gold_rate", "0.2")
    page.fill("#id_lease_seconds", "600")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_selector(".message.success")
    project.refresh_from_db()
    assert (project.gold_rate, project.lease_seconds) == (pytest.approx(0.2), 600)


def test_scale_locks_once_labeling_starts_and_members_come_and_go(
    live_server, researcher, make_user, make_project, logged_in, console, screenshot
):
    labeler, newcomer = make_user("labeler"), make_user("labeler")
    project = make_project(pairs=3, members=[labeler], gold_rate=0.0)
    page = logged_in(researcher)
    page.goto(f"{live_server.url}/projects/{project.slug}/settings/")
    assert not page.locator("#id_confidence_max").is_disabled()

    lease = assignment_next(project=project, labeler=labeler)
    comparison_submit(assignment_id=lease.id, labeler=labeler, judgment=Judgment(choice="a", confidence=2))
    held = assignment_next(project=project, labeler=labeler)
    page.reload()
    for name in ("confidence_min", "confidence_max", "allow_tie", "allow_both_bad"):
        assert page.locator(f"#id_{name}").is_disabled()
        assert "labeling has started (1 judgment)" in page.inner_text(f"#field-{name} .lock-reason")
    assert not page.locator("#id_overlap").is_disabled()
    # Even a forged post cannot change a locked field: disabled fields keep their stored value.
    page.evaluate(
        "() => { const f = document.getElementById('id_confidence_max'); f.disabled = false; f.value = '5'; }"
    )
    page.fill("#id_overlap", "4")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_selector(".message.success")
    project.refresh_from_db()
    assert (project.confidence_max, project.overlap) == (9, 4)
    screenshot(page, "project-settings-locked")

    page.fill("#id_username", newcomer.username)
    page.get_by_role("button", name="Add member").click()
    page.wait_for_selector(f"#member-table tr[data-username='{newcomer.username}']")
    assert ProjectMembership.objects.filter(project=project, user=newcomer).exists()
    console.allow("400 (Bad Request)")
    page.fill("#id_username", "nobody-here")
    page.get_by_role("button", name="Add member").click()
    assert "No active user" in page.inner_text(".member-add .field-error")

    page.get_by_role("button", name=f"Remove {labeler.username}").click()
    page.wait_for_selector(".message.success")
    assert page.locator(f"#member-table tr[data-username='{labeler.username}']").count() == 0
    assert not ProjectMembership.objects.filter(project=project, user=labeler).exists()
    # Their open lease went back to the pool; their judgment stays.
    assert not Assignment.objects.filter(id=held.id).exists()
    assert Pair.objects.get(id=held.pair_id).leased_count == 0
    assert project.pairs.filter(comparisons__labeler=labeler).count() == 1
