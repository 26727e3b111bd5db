"""The exports panel in Chromium: start an export from the project page, watch it finish on a live worker, download."""

from __future__ import annotations

import io
import zipfile

import pytest

from labeling.exports.models import Export
from tests.celery_worker import celery_worker_process  # noqa: F401 - fixture
from tests.frontend.conftest import browser, console, log_in_with_keyboard, new_page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_researcher_exports_from_the_project_page(
    celery_worker_process, live_server, judged_project, researcher, new_page, settings, tmp_path
):
    settings.EXPORT_DIR = str(tmp_path / "exports")
    project, _, _ = judged_project
    page = new_page()
    log_in_with_keyboard(page, live_server.url, researcher.username)
    page.goto(f"{live_server.url}/projects/{project.slug}/#exports")
    assert "No exports yet." in page.locator("#exports").inner_text()
    page.select_option("#export-form select[name=format]", "trl-parquet")
    page.select_option("#export-form select[name=aggregation]", "judgment")
    page.check("#export-form input[name=include_margin]")
    page.fill("#export-form input[name=tokenizer]", "tiny")  # the project has no initial policy to take it from
    page.click("#export-form button[type=submit]")
    # The page reloads with the new export, polls it, and reloads again once the worker is done.
    page.wait_for_selector("#exports a:has-text('download (.zip)')", timeout=90_000)
    export = Export.objects.get(project=project)
    assert export.status == "done" and export.format == "trl-parquet" and export.created_by == researcher
    assert export.filters["aggregation"] == "judgment" and export.filters["include_margin"] is True
    assert export.filters["tokenizer"] == "tiny" and export.filters["prompt_layout"] == "chat"
    row = page.locator("#exports tbody tr").first.inner_text()
    assert "trl-parquet" in row and "done" in row and str(export.row_count) in row
    with page.expect_download() as download_info:
        page.click("#exports a:has-text('download (.zip)')")
    archive = zipfile.ZipFile(io.BytesIO(download_info.value.path().read_bytes()))
    assert "manifest.json" in archive.namelist() and any(n.endswith(".parquet") for n in archive.namelist())
