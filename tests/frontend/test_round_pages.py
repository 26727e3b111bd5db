"""The round pages in Chromium: the round page swaps in sections as the round's row changes (no reload), the
samples view, and the project's across-rounds charts; each passes axe with no critical violation."""

from __future__ import annotations

import pytest

from labeling.services.imports import prompts_import
from rounds.models import RoundState, TrainingRound
from rounds.services.lifecycle import round_create
from tests.rounds.conftest import TINY_SETTINGS, fable_lines, round_finish_as_phases_do

from .conftest import SCREENSHOTS
from .test_accessibility import critical_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_round_page_updates_in_place_and_the_round_pages_pass_axe(
    live_server, make_project, researcher, logged_in, screenshot, tmp_path
):
    from training.ppo.evaluate import EvaluatedResponse

    project = make_project(pairs=0, overlap=2, gold_rate=0.0)
    prompts_import(project=project, lines=fable_lines(6))
    r = round_create(project=project, created_by=researcher, settings=TINY_SETTINGS)
    page = logged_in(researcher)
    page.goto(f"{live_server.url}/projects/{project.slug}/rounds/{r.number}/")
    assert page.locator("[data-action]").all_inner_texts() == ["Start", "Cancel"]
    assert critical_violations(page) == []
    page.evaluate("() => { window.sameDocument = true; }")

    TrainingRound.objects.filter(id=r.id).update(state=RoundState.REWARD_TRAINING, progress_percent=40.0,
                                                 progress_message="epoch 1 of 2")  # fmt: skip
    page.wait_for_function("() => document.getElementById('round-state').textContent.trim() === 'reward_training'")
    assert page.locator("#round-message").inner_text() == "epoch 1 of 2"
    assert page.locator("[data-action]").all_inner_texts() == ["Cancel"]
    assert page.locator("#rm-title + p").inner_text() == "Training now."

    def side(text: str, score: float) -> EvaluatedResponse:
        return EvaluatedResponse(prompt="", text=text, score=score, score_raw=score, kl=(0.0,), num_tokens=3,
                                 has_eos=score > 0)  # fmt: skip

    prompts = list(project.prompts.order_by("id")[:2])
    rows = {"prompts": prompts, "new": [side("<b>bold?</b> no", 0.7), side("short", -0.2)],
            "previous": [side("older answer", 0.1), side("another older answer", 0.3)]}  # fmt: skip
    round_finish_as_phases_do(r, accuracy=0.75, n=8, score=0.25, kl=0.1, folder=tmp_path, rows=rows)
    page.wait_for_selector("#rm-summary")
    assert "0.750" in page.locator("#rm-summary").inner_text()
    assert "0.250" in page.locator("#eval-summary").inner_text()
    assert page.locator("[data-action]").count() == 0
    assert page.locator("#round-percent").inner_text() == "100"
    assert page.evaluate("() => window.sameDocument === true"), "the page reloaded"
    assert critical_violations(page) == []
    screenshot(page, "round-page-sections")

    page.click("#samples-link")
    page.wait_for_selector("#samples-table")
    assert page.locator("#samples-table b").count() == 0  # response text is text, never markup
    first = page.locator("#samples-table tbody tr").first.inner_text()
    assert "<b>bold?</b> no" in first and "0.600" in first  # the largest gain (0.7 − 0.1) first
    page.click("text=largest loss first")
    assert "another older answer" in page.locator("#samples-table tbody tr").first.inner_text()
    assert critical_violations(page) == []
    screenshot(page, "round-samples-escaped")

    page.goto(f"{live_server.url}/projects/{project.slug}/#rounds")
    assert page.locator("#rounds-trend tr[data-round='1']").count() == 1
    box = page.locator("#rounds-trend-charts svg").first.bounding_box()
    assert box is not None and box["width"] >= 400  # readable, not a thumbnail
    assert critical_violations(page) == []
    screenshot(page, "project-rounds-panel")
    page.click("#new-round summary")
    assert page.locator("#round-form button[type=submit]").get_attribute("class") == "button primary"
    assert critical_violations(page) == []
    page.locator("#rounds").screenshot(path=str(SCREENSHOTS / "project-rounds-section.png"))
    page.locator("#exports").screenshot(path=str(SCREENSHOTS / "project-exports-section.png"))
