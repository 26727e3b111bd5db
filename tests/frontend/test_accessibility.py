"""Every page passes axe-core (vendored, run in Chromium) with no critical violations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import clock
from labeling.exports.options import ExportRequest
from labeling.exports.services import export_create, export_run
from labeling.models import Pair, PairFlag, Role
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, comparison_submit

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-4.10.3.min.js"


def critical_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{page.url} {v['id']}: {v['help']} ({len(v['nodes'])} nodes: {v['nodes'][0]['target']})"
        for v in result["violations"]
        if v["impact"] == "critical"
    ]


def test_every_page_has_no_critical_accessibility_violation(
    live_server, admin_user, make_user, make_project, new_page, tmp_path, console
):
    labeler = make_user(Role.LABELER)
    project = make_project(
        pairs=4, members=[labeler, admin_user], overlap=1, gold_rate=0.0, instructions="Be **kind**."
    )
    for _ in range(2):
        lease = assignment_next(project=project, labeler=labeler)
        comparison_submit(assignment_id=lease.id, labeler=labeler, judgment=Judgment(choice="a", confidence=2))
    pair = Pair.objects.get(id=lease.pair_id)
    PairFlag.objects.create(pair=pair, labeler=labeler, reason="broken", note="cut", created_at=clock.now())
    export = export_create(
        project=project, request=ExportRequest(format="trl", prompt_layout="stored", split=(1, 0, 0)), created_by=admin_user,
        out_dir=tmp_path / "e", enqueue=False,
    )  # fmt: skip
    export_run(export_id=export.id)
    warned = make_project(pairs=1, members=[labeler], gold_rate=0.0, content_warning="Red-team text ahead.")

    found: list[str] = []
    page = new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    found += critical_violations(page)
    log_in_with_keyboard(page, live_server.url, labeler.username)
    for url, ready in [
        ("/label/", "main"),
        (f"/label/{project.slug}/", "#task:not([hidden])"),
        (f"/label/{warned.slug}/", "#content-warning"),
    ]:
        page.goto(live_server.url + url)
        page.wait_for_selector(ready)
        found += critical_violations(page)
    page.goto(f"{live_server.url}/label/{project.slug}/")
    page.wait_for_selector("#task:not([hidden])")
    for key, dialog in [("h", "#recent-dialog"), ("?", "#help-dialog"), ("i", "#instructions-dialog")]:
        page.keyboard.press(key)
        page.wait_for_selector(f"{dialog}[open]")
        if key == "h":
            page.wait_for_selector("#recent-dialog .recent-item")
        found += critical_violations(page)
        page.keyboard.press("Escape")
    current = page.get_attribute("#task", "data-assignment")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.getElementById('task').dataset.assignment !== '{current}'")
    page.keyboard.press("u")
    page.wait_for_selector("#revise-banner:not([hidden])")
    found += critical_violations(page)

    admin = new_page()
    log_in_with_keyboard(admin, live_server.url, admin_user.username)
    console.allow("404 (Not Found)")
    for url in [
        "/projects/",
        f"/projects/{project.slug}/",
        "/projects/new/",
        f"/projects/{project.slug}/settings/",
        f"/projects/{project.slug}/pairs/{pair.id}/",
        f"/projects/{project.slug}/exports/{export.id}/",
        "/users/",
        "/no-such-page/",
    ]:
        admin.goto(live_server.url + url)
        admin.wait_for_load_state("networkidle")
        found += critical_violations(admin)
    assert found == [], json.dumps(found, indent=1)

    # The check can fail: a button with no name is a critical violation.
    admin.evaluate("() => document.querySelector('main').appendChild(document.createElement('button'))")
    assert any("button-name" in v for v in critical_violations(admin))
