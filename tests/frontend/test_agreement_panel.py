"""The agreement panel of the project page in Chromium: numbers from the API, sorting, exclude and lift."""

from __future__ import annotations

import json

import pytest

from labeling.models import Pair, Role
from labeling.services.exclusions import excluded_labeler_ids
from labeling.services.imports import pairs_import
from tests.labeling.test_agreement_report import judge

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser


def test_agreement_panel_shows_report_sorts_and_excludes(
    live_server, researcher, make_user, make_project, new_page, screenshot
):
    careful = [make_user(Role.LABELER, username=f"careful-{i}") for i in range(3)]
    contrarian = make_user(Role.LABELER, username="contrarian")
    project = make_project(pairs=0, members=[*careful, contrarian])
    pairs_import(
        project=project,
        lines=[
            json.dumps(
                {
                    "prompt": f"p{i}",
                    "response_a": f"x{i}",
                    "response_b": f"y{i}",
                    "policy_a": "base",
                    "policy_b": "tuned",
                }
            )
            for i in range(6)
        ],
    )
    for i, pair in enumerate(Pair.objects.filter(project=project).order_by("id")):
        for user in careful[: 3 if i < 4 else 2]:
            judge(pair, user, "b", 8, swapped=bool(i % 2))
        judge(pair, contrarian, "a", 2, swapped=not i % 2)

    page = new_page()
    log_in_with_keyboard(page, live_server.url, researcher.username)
    page.goto(f"{live_server.url}/projects/{project.slug}/")
    page.wait_for_selector("#agreement-panel [data-agreement-body]:not([hidden])", timeout=20_000)
    coefficients = page.locator("[data-agreement-coefficients] tr")
    assert coefficients.count() == 4  # percent, alpha (choice), Fleiss, alpha (confidence)
    contrarian_row = page.locator("tr[data-labeler='contrarian']")
    assert "review" in contrarian_row.inner_text() and "0.0%" in contrarian_row.inner_text()
    ranking = page.locator("[data-agreement-ranking] tr")
    assert ranking.first.locator("td").first.inner_text() == "tuned"

    page.get_by_role("button", name="Judgments").click()
    page.get_by_role("button", name="Judgments").click()  # second click: ascending
    first = page.locator("[data-agreement-labelers] tbody tr").first
    assert first.get_attribute("data-labeler") == "careful-2"  # 4 judgments, the fewest
    assert page.locator("th[aria-sort='ascending']").inner_text() == "Judgments"

    page.once("dialog", lambda dialog: dialog.accept("always disagrees"))
    page.get_by_role("button", name="Exclude contrarian").click()
    page.wait_for_selector("[data-agreement-exclusions]:has-text('always disagrees')")
    assert excluded_labeler_ids(project) == {contrarian.id}
    page.wait_for_selector("tr[data-labeler='contrarian']:has-text('excluded')")
    screenshot(page, "agreement-panel")

    page.once("dialog", lambda dialog: dialog.accept("retrained"))
    page.get_by_role("button", name="Lift exclusion contrarian").click()
    page.wait_for_selector("[data-agreement-exclusions]:has-text('retrained')")
    assert excluded_labeler_ids(project) == set()
