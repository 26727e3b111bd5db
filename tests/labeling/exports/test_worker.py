"""An export started through the API runs on a real Celery worker (Redis broker, test database)."""

from __future__ import annotations

import json
from pathlib import Path

from labeling.exports.models import Export
from tests.celery_worker import celery_worker_process, wait_until  # noqa: F401 - fixture


def test_api_export_runs_on_a_live_worker(
    celery_worker_process, judged_project, researcher, api_client_for, settings, tmp_path
):
    settings.EXPORT_DIR = str(tmp_path / "exports")  # the path is fixed when the export is recorded
    project, _, _ = judged_project
    client = api_client_for(researcher)
    response = client.post(
        f"/api/v1/projects/{project.slug}/exports/",
        {"format": "trl-parquet", "include_margin": True, "tokenizer": "tiny"},
        format="json",
    )
    assert response.status_code == 202, response.json()
    export_id = response.json()["id"]
    wait_until(
        lambda: Export.objects.get(id=export_id).status in ("done", "failed"),
        timeout=90,
        message=f"the worker to finish the export (log: {celery_worker_process.log_path})",
    )
    status = client.get(f"/api/v1/exports/{export_id}/").json()
    assert status["status"] == "done", (status["error"], celery_worker_process.log())
    assert status["progress"] == 1.0 and status["row_count"] > 0
    folder = Path(Export.objects.get(id=export_id).path)
    assert folder.parent.parent == tmp_path / "exports"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["rows"] == status["row_count"]
    assert manifest["layout"] == {
        "prompt_layout": "chat", "style": "standard", "tokenizer": "tiny",
        "instruction_template": project.instruction_template,
    }  # fmt: skip
    assert client.get(status["download_url"]).status_code == 200
