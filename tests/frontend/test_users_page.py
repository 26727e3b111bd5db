"""The admins' users page in Chromium: create a labeler, reset a password, change a role, deactivate."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from labeling.models import Assignment, Comparison, ProjectMembership, Role
from labeling.services.accounts import user_role
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, comparison_submit
from tests.conftest import PASSWORD

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser
User = get_user_model()


def test_admin_manages_accounts_without_django_admin(
    live_server, admin_user, make_user, make_project, new_page, console, screenshot
):
    veteran = make_user(Role.LABELER, username="veteran")
    project = make_project(pairs=3, members=[veteran], gold_rate=0.0, slug="fables-test")
    lease = assignment_next(project=project, labeler=veteran)
    comparison_submit(assignment_id=lease.id, labeler=veteran, judgment=Judgment(choice="a"))
    held = assignment_next(project=project, labeler=veteran)

    page = new_page()
    log_in_with_keyboard(page, live_server.url, admin_user.username)
    page.get_by_role("link", name="Users").click()
    page.wait_for_url("**/users/")
    row = page.locator("tr[data-username='veteran']")
    assert "fables-test" in row.inner_text() and "labeler" in row.locator("select").input_value()

    # Create a labeler with a project.
    page.fill("#id_username", "newbie")
    page.fill("#id_password", "a-long-passphrase-1")
    page.select_option("#id_role", "labeler")
    page.get_by_label("fables-test").check()
    page.get_by_role("button", name="Create account").click()
    page.wait_for_selector(".message.success")
    newbie = User.objects.get(username="newbie")
    assert user_role(newbie) == Role.LABELER and newbie.check_password("a-long-passphrase-1")
    assert ProjectMembership.objects.filter(project=project, user=newbie).exists()

    # Reset a password, change a role.
    page.fill(f"#password-{newbie.id}", "another-long-passphrase")
    page.get_by_role("button", name="Reset password of newbie").click()
    page.wait_for_selector(".message.success")
    newbie.refresh_from_db()
    assert newbie.check_password("another-long-passphrase")
    page.select_option(f"#role-{newbie.id}", "researcher")
    page.get_by_role("button", name="Set role of newbie").click()
    page.wait_for_selector(".message.success")
    assert user_role(User.objects.get(id=newbie.id)) == Role.RESEARCHER

    # Deactivate someone who labeled: nothing deleted, leases back, login refused.
    page.get_by_role("button", name="Deactivate veteran").click()
    page.wait_for_selector(".message.success:has-text('1 open pair')")
    veteran.refresh_from_db()
    assert not veteran.is_active
    assert Comparison.objects.filter(labeler=veteran).count() == 1
    assert not Assignment.objects.filter(id=held.id).exists()
    assert "deactivated" in page.locator("tr[data-username='veteran']").inner_text()
    screenshot(page, "users-page")

    other = new_page()
    other.goto(f"{live_server.url}/accounts/login/")
    other.fill("#id_username", "veteran")
    other.fill("#id_password", PASSWORD)
    console.allow("Failed to load resource")
    other.keyboard.press("Enter")
    other.wait_for_load_state()
    assert "/accounts/login/" in other.url


def test_users_page_is_for_admins_only(live_server, researcher, new_page, console):
    page = new_page()
    log_in_with_keyboard(page, live_server.url, researcher.username)
    console.allow("403 (Forbidden)")
    assert page.goto(f"{live_server.url}/users/").status == 403
