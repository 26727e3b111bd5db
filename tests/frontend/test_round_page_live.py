"""The round page followed live in Chromium from Start to done, with a real Celery worker and simulated labelers:
every section changes as its phase finishes, without a reload. Then the samples view and the project's
across-rounds table and charts of the finished round."""

from __future__ import annotations

import pytest

from labeling.exports.models import Export
from labeling.services.imports import prompts_import
from rounds import ml_bridge
from rounds.models import RoundState, TrainingRound
from rounds.services.lifecycle import round_create
from rounds.simulation import simulated_labelers_run
from tests.rounds.conftest import TINY_SETTINGS, fable_lines
from tests.rounds.worker import rounds_worker

from .test_accessibility import critical_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]
PHASE_TIMEOUT_MS = 400_000


def text(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def wait_for_state(page, state: str, worker) -> None:
    try:
        page.wait_for_function(
            "(s) => { const el = document.getElementById('round-state'); return el && el.textContent.trim() === s; }",
            arg=state, timeout=PHASE_TIMEOUT_MS, polling=500,
        )  # fmt: skip
    except Exception:
        r = TrainingRound.objects.get()
        pytest.fail(f"page never showed {state}; round is {r.state} ({r.error})\n{worker.log()[-4000:]}")


def test_round_page_follows_a_round_to_done_without_a_reload(
    live_server, make_project, researcher, logged_in, screenshot, console
):
    ml_bridge.model_dir("tiny")  # built once here, so the estimate is there at creation
    project = make_project(pairs=0, overlap=2, gold_rate=0.0)
    prompts_import(project=project, lines=fable_lines(8))
    r = round_create(project=project, created_by=researcher, settings=TINY_SETTINGS)
    page = logged_in(researcher)
    url = f"{live_server.url}/projects/{project.slug}/rounds/{r.number}/"

    with rounds_worker() as worker:
        page.goto(url)
        assert text(page, "#round-state") == "created" and "Not trained yet" in text(page, "#rm-title + p")
        assert "not started" in text(page, "#round-percent + .stat-label")
        assert page.locator("[data-action]").all_inner_texts() == ["Start", "Cancel"]
        page.click("[data-action=start]")
        page.wait_for_url(url)
        page.evaluate("() => { window.sameDocument = true; }")  # gone if the page reloads

        # Running phases offer Cancel only, never Resume.
        assert page.locator("[data-action]").all_inner_texts() == ["Cancel"]
        wait_for_state(page, RoundState.LABELING, worker)
        assert page.locator("[data-action]").all_inner_texts() == ["Close labeling now", "Cancel"]
        assert page.locator("#leases-title").is_visible()
        simulated_labelers_run(project=project, labelers=2, noise=0.1)

        page.wait_for_selector("#rm-summary", timeout=PHASE_TIMEOUT_MS)
        accuracy = text(page, "#rm-summary")
        assert "held-out accuracy" in accuracy and "95% CI" in accuracy
        assert not page.locator("#leases-title").count()  # labeling is over
        wait_for_state(page, RoundState.DONE, worker)

    r.refresh_from_db()
    assert r.state == RoundState.DONE
    assert page.evaluate("() => window.sameDocument === true"), "the page reloaded"
    # Every section caught up with the finished round.
    assert f"{r.metrics['evaluation']['rm_score_new']:.3f}" in text(page, "#eval-summary")
    assert page.locator("[data-action]").count() == 0 and page.locator("#no-actions").is_visible()
    assert text(page, "#round-percent") == "100" and "every phase finished" in text(
        page, "#round-percent + .stat-label"
    )
    assert text(page, "#round-eta") == "–"
    timeline = page.locator("#timeline-table tbody tr").all_inner_texts()
    assert any("evaluation\tdone" in row for row in timeline) and any(researcher.username in row for row in timeline)
    assert page.locator("#ppo-title ~ .charts svg polyline").count() == 2
    assert r.new_policy.name in text(page, "#new-policy")
    assert "reward_training" in text(page, "#compute-title ~ table")
    assert critical_violations(page) == []
    screenshot(page, "round-page-done")

    # The samples view: both policies' responses per held-out prompt, sorted by score difference.
    page.click("#samples-link")
    page.wait_for_selector("#samples-table")
    rows = page.locator("#samples-table tbody tr")
    assert rows.count() == r.metrics["evaluation"]["prompts"] > 0
    differences = [float(x) for x in page.locator("#samples-table td.difference").all_inner_texts()]
    assert differences == sorted(differences, reverse=True)
    assert critical_violations(page) == []
    screenshot(page, "round-samples")

    # The project page: the round in the across-rounds table and charts (humans have judged its evaluation
    # pairs by now); its export names who started it.
    simulated_labelers_run(project=project, labelers=2, noise=0.1)
    page.goto(f"{live_server.url}/projects/{project.slug}/#rounds")
    row = page.locator("#rounds-trend tr[data-round='1']").inner_text()
    assert f"{r.reward_model.metrics['heldout']['accuracy']:.3f}" in row
    assert page.locator("#rounds-trend-charts svg").count() == 4
    assert "no judgments yet" not in row and f"({2 * r.metrics['evaluation']['human_eval_pairs']})" in row
    export = Export.objects.get(id=r.reward_model.export_id)
    assert export.created_by == researcher
    export_row = page.locator("#exports table tbody tr", has_text=f"#{export.id}").inner_text()
    assert researcher.username in export_row and "command line" not in export_row
    assert critical_violations(page) == []
    screenshot(page, "project-rounds-trend")
    assert console.unexpected() == []
