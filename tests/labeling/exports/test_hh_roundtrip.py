"""HH-RLHF dialogues imported, judged through the API as the original annotators did, exported back unchanged."""

from __future__ import annotations

import gzip
import json

import pytest

from labeling.exports.options import ExportRequest
from labeling.exports.services import export_create, export_run
from labeling.services.imports import split_hh_dialogue
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.django_db
LINES = 15


def test_hh_export_reproduces_the_original_dialogues(make_project, make_user, api_client_for, tmp_path):
    with gzip.open(SHARED_DATA / "hh-rlhf-harmless-dev.jsonl.gz", "rt", encoding="utf-8") as f:
        originals = [json.loads(next(f)) for _ in range(LINES)]
    labelers = [make_user() for _ in range(3)]
    project = make_project(pairs=0, members=labelers, overlap=3, gold_rate=0.0)
    response = api_client_for(project.created_by).post(
        f"/api/v1/projects/{project.slug}/imports/pairs/", {"lines": [json.dumps(o) for o in originals]}, format="json"
    )
    assert response.status_code == 201 and response.json()["pairs_created"] == LINES
    chosen_answer = {}
    for original in originals:
        prompt, answer_c, _ = split_hh_dialogue(original["chosen"], original["rejected"])
        chosen_answer[prompt] = answer_c
    for labeler in labelers:
        client = api_client_for(labeler)
        while (shown := client.post(f"/api/v1/projects/{project.slug}/next/", {}, format="json")).status_code == 200:
            body = shown.json()
            choice = "a" if body["response_left"] == chosen_answer[body["prompt"]] else "b"
            submit = client.post(
                f"/api/v1/assignments/{body['assignment_id']}/submit/", {"choice": choice}, format="json"
            )
            assert submit.status_code == 201
    out = tmp_path / "hh"
    request = ExportRequest(format="hh", split=(1.0, 0.0, 0.0))
    export_run(export_id=export_create(project=project, request=request, out_dir=out, enqueue=False).id)
    exported = [json.loads(line) for line in (out / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(exported) == LINES
    # The importer strips the final answers; dialogues whose answer had other whitespace cannot come back verbatim.
    verbatim = [
        o for o in originals
        if all(o[k] == split_hh_dialogue(o["chosen"], o["rejected"])[0] + " " + a
               for k, a in zip(("chosen", "rejected"), split_hh_dialogue(o["chosen"], o["rejected"])[1:]))
    ]  # fmt: skip
    assert len(verbatim) >= LINES - 2
    for original in verbatim:
        assert {"chosen": original["chosen"], "rejected": original["rejected"]} in exported
