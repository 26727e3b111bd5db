"""Bad input gets a 4xx naming the line and field, never a 500, and nothing is stored."""

from __future__ import annotations

import gzip
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from labeling.models import Pair, Prompt, Sample
from tests.conftest import pair_lines

pytestmark = pytest.mark.django_db


def pair_row(**overrides) -> str:
    row = {"prompt": "Summarise: the fox.", "response_a": "A fox.", "response_b": "The fox.", **overrides}
    return json.dumps(row)  # json.dumps escapes NUL as \u0000 and a lone surrogate as \ud800, as a client would


def upload(client, slug: str, lines: list[str], kind: str = "pairs"):
    data = "\n".join(lines).encode("utf-8")
    return client.post(
        f"/api/v1/projects/{slug}/imports/{kind}/",
        {"file": SimpleUploadedFile(f"{kind}.jsonl", data)},
        format="multipart",
    )


def nothing_stored(project) -> bool:
    return not (Pair.objects.filter(project=project).exists() or Prompt.objects.filter(project=project).exists())


@pytest.mark.parametrize(
    ("kind", "bad_line", "field", "message"),
    [
        ("pairs", pair_row(prompt="Summarise:\x00 the fox."), "prompt", "NUL"),
        ("pairs", pair_row(response_b="The \x00fox."), "response_b", "NUL"),
        ("pairs", pair_row(metadata={"source": "web\x00"}), "metadata", "NUL"),
        ("pairs", pair_row(metadata={"k\x00": 1}), "metadata", "NUL"),
        ("pairs", pair_row(prompt="Summarise \ud800 this."), "prompt", "surrogate"),
        ("pairs", pair_row(metadata={"tags": ["ok", "\udfff"]}), "metadata", "surrogate"),
        ("pairs", pair_row(policy_a="model-\x00"), "policy_a", "NUL"),
        ("pairs", pair_row(batch="b" * 81), "batch", "longer than 80"),
        ("pairs", pair_row(batch="batch-\ud800"), "batch", "surrogate"),
        ("prompts", json.dumps({"text": "A fable\x00."}), "text", "NUL"),
        ("prompts", json.dumps({"text": "A fable.", "metadata": {"x": "\ud800"}}), "metadata", "surrogate"),
        ("prompts", json.dumps({"text": "A fable.", "title": "T\x00"}), "metadata", "NUL"),
        ("prompts", json.dumps({"text": "A fable.", "reference": "\ud800"}), "reference", "surrogate"),
    ],
)
def test_unstorable_text_is_a_400_naming_line_and_field(
    researcher, api_client_for, make_project, kind, bad_line, field, message
):
    project = make_project(pairs=0)
    good = pair_lines(2) if kind == "pairs" else [json.dumps({"text": "A good fable."})]
    response = upload(api_client_for(researcher), project.slug, [*good, bad_line], kind)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "import_invalid"
    [error] = body["errors"]
    assert (error["line"], error["field"]) == (len(good) + 1, field)
    assert message in error["message"]
    assert nothing_stored(project)


def test_skip_invalid_imports_the_storable_lines(researcher, api_client_for, make_project):
    project = make_project(pairs=0)
    response = api_client_for(researcher).post(
        f"/api/v1/projects/{project.slug}/imports/pairs/",
        {"lines": [*pair_lines(2), pair_row(prompt="x\x00")], "skip_invalid": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["pairs_created"] == 2
    assert [s["line"] for s in response.json()["skipped"]] == [3]
    assert Prompt.objects.filter(project=project).count() == 2


def test_a_body_over_the_upload_limit_is_a_json_413(researcher, api_client_for, make_project, settings):
    settings.ARBITER_MAX_REQUEST_BYTES = 4096
    project = make_project(pairs=0)
    big = [pair_row(prompt=f"Summarise item {i}: " + "x" * 200) for i in range(40)]
    response = upload(api_client_for(researcher), project.slug, big)
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "request_too_large" and "limit" in response.json()["detail"]
    assert nothing_stored(project)
    # Under the limit the same endpoint works.
    assert upload(api_client_for(researcher), project.slug, big[:5]).status_code == 201
    # The browser's import form gets the same refusal as text.
    page = api_client_for(researcher).post(
        f"/projects/{project.slug}/import/", {"file": SimpleUploadedFile("p.jsonl", "\n".join(big).encode())}
    )
    assert page.status_code == 413 and page["Content-Type"].startswith("text/plain")


def test_a_gzipped_upload_is_read_and_a_truncated_one_refused(researcher, api_client_for, make_project):
    project = make_project(pairs=0)
    packed = gzip.compress("\n".join(pair_lines(30)).encode())
    client = api_client_for(researcher)
    cut = client.post(
        f"/api/v1/projects/{project.slug}/imports/pairs/",
        {"file": SimpleUploadedFile("pairs.jsonl.gz", packed[: len(packed) // 2])},
        format="multipart",
    )
    assert cut.status_code == 400 and "truncated" in cut.json()["detail"]
    assert nothing_stored(project)
    whole = client.post(
        f"/api/v1/projects/{project.slug}/imports/pairs/",
        {"file": SimpleUploadedFile("pairs.jsonl.gz", packed)},
        format="multipart",
    )
    assert whole.status_code == 201 and whole.json()["pairs_created"] == 30


def test_import_data_reports_a_truncated_gzip_cleanly(make_project, tmp_path):
    project = make_project(pairs=0)
    packed = gzip.compress("\n".join(pair_lines(200)).encode())
    path = tmp_path / "pairs.jsonl.gz"
    path.write_bytes(packed[: len(packed) - 40])
    with pytest.raises(CommandError, match="truncated or corrupt"):
        call_command("import_data", "pairs", str(path), project=project.slug)
    assert nothing_stored(project)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(CommandError, match="truncated or corrupt"):
        call_command("import_data", "pairs", str(path), project=project.slug)


def test_import_data_names_the_line_of_a_nul_byte(make_project, tmp_path):
    project = make_project(pairs=0)
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join([*pair_lines(3), pair_row(response_a="A\x00")]))
    with pytest.raises(CommandError, match=r"line 4: response_a: contains a NUL"):
        call_command("import_data", "pairs", str(path), project=project.slug)
    assert not Sample.objects.filter(prompt__project=project).exists()
