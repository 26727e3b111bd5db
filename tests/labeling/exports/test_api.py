"""Export API: researchers start exports (queued after commit), poll status, download; labelers cannot."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from labeling.exports.models import Export, ExportStatus
from labeling.exports.services import export_run
from labeling.models import Comparison

pytestmark = pytest.mark.django_db


def test_create_enqueues_after_commit_then_status_and_download(
    judged_project, researcher, api_client_for, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.EXPORT_DIR = str(tmp_path / "exports")
    project, labelers, _ = judged_project
    client = api_client_for(researcher)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            f"/api/v1/projects/{project.slug}/exports/",
            {"format": "trl", "aggregation": "judgment", "prompt_layout": "stored", "rounds": [], "split": [1, 0, 0]},
            format="json",
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["download_url"] is None and body["created_by"] == researcher.username
    assert len(callbacks) == 1  # the task is sent only once the row is committed
    export_run(export_id=body["id"])
    ties = Comparison.objects.filter(pair__project=project, choice="tie").count()  # dropped by default
    assert 0 < ties < 36
    status = client.get(body["status_url"]).json()
    assert status["status"] == "done" and status["progress"] == 1.0 and status["row_count"] == 36 - ties
    names = {"train.jsonl", "validation.jsonl", "test.jsonl", "README.md", "manifest.json"}
    assert {f["name"] for f in status["files"]} == names
    download = client.get(status["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist()) == sorted(names)
    assert len(archive.read("train.jsonl").decode().splitlines()) == 36 - ties
    assert archive.read("test.jsonl") == b""
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["export_id"] == body["id"]
    single = client.get(f"/api/v1/exports/{body['id']}/files/train.jsonl")
    assert b"".join(single.streaming_content) == archive.read("train.jsonl")
    assert client.get(f"/api/v1/exports/{body['id']}/files/../../settings.py").status_code == 404
    listing = client.get(f"/api/v1/projects/{project.slug}/exports/").json()
    assert [e["id"] for e in listing] == [body["id"]]
    # Labelers can neither start nor read exports.
    labeler_client = api_client_for(labelers[0])
    assert labeler_client.post(f"/api/v1/projects/{project.slug}/exports/", {"format": "trl"}).status_code == 403
    assert labeler_client.get(body["status_url"]).status_code == 403


def test_bad_requests_are_explained(judged_project, researcher, api_client_for):
    project, _, _ = judged_project
    client = api_client_for(researcher)
    url = f"/api/v1/projects/{project.slug}/exports/"
    bad_format = client.post(url, {"format": "csv"}, format="json")
    assert bad_format.status_code == 400 and "format" in bad_format.json()["errors"]
    bad_split = client.post(url, {"format": "trl", "split": [0.5, 0.5, 0.5]}, format="json")
    assert bad_split.status_code == 400 and "summing to 1" in bad_split.json()["detail"]
    hh_tie = client.post(url, {"format": "hh", "ties": "soft"}, format="json")
    assert hh_tie.status_code == 400 and "cannot express a tie" in hh_tie.json()["detail"]
    soft = client.post(url, {"format": "trl", "ties": "soft"}, format="json")
    assert soft.status_code == 400 and "never a soft label" in soft.json()["detail"]
    no_template = client.post(url, {"format": "hf"}, format="json")
    assert no_template.status_code == 400 and "has no initial policy with a model" in no_template.json()["detail"]
    assert client.post("/api/v1/projects/nope/exports/", {"format": "trl"}, format="json").status_code == 404
    assert Export.objects.count() == 0


def test_project_page_lists_exports(judged_project, researcher, client, settings, tmp_path):
    settings.EXPORT_DIR = str(tmp_path / "exports")
    project, _, _ = judged_project
    done = Export.objects.create(project=project, format="trl", status=ExportStatus.DONE, path=str(tmp_path),
                                 created_by=researcher, created_at=project.created_at, row_count=12)  # fmt: skip
    client.force_login(researcher)
    page = client.get(f"/projects/{project.slug}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="export-form"' in html and f"/api/v1/exports/{done.id}/download/" in html
