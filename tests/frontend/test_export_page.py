"""Each export opens a readable page in Chromium: who made it, counts, files with hashes; not raw JSON."""

from __future__ import annotations

import hashlib

import pytest

from labeling.exports.options import ExportRequest
from labeling.exports.services import export_create, export_run
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, comparison_submit

from .conftest import log_in_with_keyboard

pytestmark = pytest.mark.browser


def test_export_row_opens_a_readable_page(
    live_server, researcher, make_user, make_project, new_page, screenshot, tmp_path
):
    labeler = make_user("labeler")
    project = make_project(pairs=3, members=[labeler], overlap=1, gold_rate=0.0)
    for _ in range(3):
        lease = assignment_next(project=project, labeler=labeler)
        comparison_submit(assignment_id=lease.id, labeler=labeler, judgment=Judgment(choice="a", confidence=2))
    out = tmp_path / "export"
    export = export_create(
        project=project, request=ExportRequest(format="trl", prompt_layout="stored", split=(1, 0, 0)), created_by=researcher,
        out_dir=out, enqueue=False,
    )  # fmt: skip
    export_run(export_id=export.id)

    page = new_page()
    log_in_with_keyboard(page, live_server.url, researcher.username)
    page.goto(f"{live_server.url}/projects/{project.slug}/#exports")
    row = page.locator("#exports tr", has=page.get_by_role("link", name=f"Export {export.id} details"))
    assert researcher.username in row.inner_text()
    row.get_by_role("link", name=f"Export {export.id} details").click()
    page.wait_for_url(f"**/projects/{project.slug}/exports/{export.id}/")
    assert page.inner_text("#export-by") == researcher.username
    assert page.inner_text("#export-status") == "done"
    files = page.locator("#export-files tbody tr")
    assert files.count() >= 1
    train = out / files.first.locator("a").inner_text()
    assert hashlib.sha256(train.read_bytes()).hexdigest() in files.first.inner_text()
    assert "format" in page.inner_text("#export-request")
    assert not page.content().lstrip().startswith("{"), "a page, not JSON"
    screenshot(page, "export-detail")
