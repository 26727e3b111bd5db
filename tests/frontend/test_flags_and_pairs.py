"""Flags resolved in Chromium (dismiss, or exclude with a note), and split-vote pairs linked to a pair page."""

from __future__ import annotations

import json

import pytest

from common import clock
from labeling.exports.options import ExportRequest
from labeling.exports.selection import comparisons_selected
from labeling.models import Pair, PairFlag, Role
from labeling.services.imports import pairs_import
from tests.labeling.test_agreement_report import judge

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser


def test_split_pair_page_and_flag_resolution(
    live_server, researcher, make_user, make_project, new_page, console, screenshot
):
    labelers = [make_user(Role.LABELER, username=f"judge-{i}") for i in range(4)]
    project = make_project(pairs=0, members=labelers, overlap=4)
    pairs_import(
        project=project,
        lines=[
            json.dumps({"prompt": f"p{i}", "response_a": f"x{i}", "response_b": f"y{i}", "policy_a": "base"})
            for i in range(2)
        ],
    )
    split, calm = Pair.objects.filter(project=project).order_by("id")
    for i, user in enumerate(labelers):
        judge(split, user, "a" if i < 2 else "b", 2 if i < 2 else 8, swapped=bool(i % 2))
        judge(calm, user, "b", 8, swapped=False)
    PairFlag.objects.create(pair=calm, labeler=labelers[0], reason="broken", note="cut off", created_at=clock.now())
    PairFlag.objects.create(pair=split, labeler=labelers[1], reason="offensive", note="", created_at=clock.now())
    export = ExportRequest(format="trl", min_agreement="split")
    assert not comparisons_selected(project=project, request=export).filter(pair__in=[split, calm]).exists()

    page = new_page()
    log_in_with_keyboard(page, live_server.url, researcher.username)
    page.goto(f"{live_server.url}/projects/{project.slug}/")
    page.wait_for_selector("#agreement-panel [data-agreement-body]:not([hidden])", timeout=20_000)
    page.locator("[data-agreement-split] a", has_text=f"#{split.id}").click()
    page.wait_for_url(f"**/projects/{project.slug}/pairs/{split.id}/")
    # Researchers see who judged what, in canonical order, and the pair's flags.
    rows = page.locator("#judgments tbody tr")
    assert rows.count() == 4
    assert [rows.nth(i).get_attribute("data-labeler") for i in range(4)] == [u.username for u in labelers]
    assert "base" in page.inner_text("#pair-a-title")
    assert "Offensive" in page.inner_text("#flags") or "offensive" in page.inner_text("#flags").lower()
    screenshot(page, "pair-page-split")

    # Dismiss: the pair is fine and goes back into exports.
    page.get_by_label("Dismissed: the pair is fine").check()
    page.get_by_role("button", name="Resolve").click()
    page.wait_for_selector(".message.success")
    assert "Dismissed" in page.inner_text(".flag-resolution")
    flag = PairFlag.objects.get(pair=split)
    assert (flag.resolution, flag.resolved_by_id) == ("dismissed", researcher.id)
    assert comparisons_selected(project=project, request=export).filter(pair=split).count() == 4

    # Exclude from the project page's flag list: a note is required, then the pair stays out of exports.
    page.goto(f"{live_server.url}/projects/{project.slug}/")
    page.get_by_role("link", name=f"Review and resolve the flag on pair {calm.id}").click()
    page.get_by_label("Excluded: the pair stays out of exports").check()
    console.allow("400 (Bad Request)")
    page.get_by_role("button", name="Resolve").click()
    assert "Say why" in page.inner_text(".resolve-form .error-box")
    assert PairFlag.objects.get(pair=calm).resolved_at is None
    page.get_by_label("Excluded: the pair stays out of exports").check()
    page.fill("#resolve-note", "response B is truncated")
    page.get_by_role("button", name="Resolve").click()
    page.wait_for_selector(".message.success")
    assert "response B is truncated" in page.inner_text(".flag-resolution")
    assert PairFlag.objects.get(pair=calm).resolution == "excluded"
    assert not comparisons_selected(project=project, request=export).filter(pair=calm).exists()
    assert (
        not comparisons_selected(project=project, request=ExportRequest(format="trl", include_flagged=True))
        .filter(pair=calm)
        .exists()
    ), "an excluded pair stays out even when flagged pairs are included"
    screenshot(page, "pair-page-excluded")


def test_pair_page_is_for_researchers_only(live_server, make_user, make_project, new_page, console):
    labeler = make_user(Role.LABELER)
    project = make_project(pairs=1, members=[labeler])
    pair = Pair.objects.get(project=project)
    page = new_page()
    log_in_with_keyboard(page, live_server.url, labeler.username)
    console.allow("403 (Forbidden)")
    response = page.goto(f"{live_server.url}/projects/{project.slug}/pairs/{pair.id}/")
    assert response.status == 403
    assert "policy-one" not in page.content()
