"""Every format, exported from judgments made through the API, read back and checked row by row."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from labeling.exports.models import ExportStatus
from labeling.exports.options import ExportRequest
from labeling.exports.services import export_create, export_run

from .conftest import TIE

pytestmark = pytest.mark.django_db


def run_export(project, out: Path, **options):
    options.setdefault("prompt_layout", "stored")  # texts as stored; the chat layout has its own tests
    export = export_create(project=project, request=ExportRequest(**options), out_dir=out, enqueue=False)
    export = export_run(export_id=export.id)
    assert export.status == ExportStatus.DONE
    return export, json.loads((out / "manifest.json").read_text())


def texts_of(prompt: str, judged) -> tuple[str, str]:
    one = next(j for j in judged if j.prompt == prompt)
    a = one.left if "summary A" in one.left else one.right
    return a, one.right if a == one.left else one.left


def expected_consensus(judged) -> dict[str, str]:
    """prompt -> the picked text (or "tie") of a strict majority of labelers, from what they saw."""
    votes = defaultdict(list)
    for j in judged:
        votes[j.prompt].append(j.picked)
    result = {}
    for prompt, picks in votes.items():
        top, count = Counter(picks).most_common(1)[0]
        if count * 2 > len(picks):
            result[prompt] = top
    return result


def load(path: Path, kind: str = "json"):
    return list(datasets.load_dataset(kind, data_files=str(path), split="train"))


def all_rows(out: Path, suffix: str, kind: str) -> list[dict]:
    rows = []
    for name in ("train", "validation", "test"):
        if (out / f"{name}.{suffix}").stat().st_size and (
            kind == "json" or pq.read_metadata(out / f"{name}.{suffix}").num_rows
        ):
            rows += [{**r, "_split": name} for r in load(out / f"{name}.{suffix}", kind)]
    return rows


@pytest.mark.parametrize("fmt,suffix,kind", [("trl", "jsonl", "json"), ("trl-parquet", "parquet", "parquet")])
def test_trl_per_pair_rows_are_the_majority_choice(judged_project, tmp_path, fmt, suffix, kind):
    project, _, judged = judged_project
    out = tmp_path / "out"
    export, manifest = run_export(project, out, format=fmt, include_margin=True, split=(0.5, 0.25, 0.25))
    rows = all_rows(out, suffix, kind)
    consensus = {p: c for p, c in expected_consensus(judged).items() if c != TIE}
    assert rows and len(rows) == len(consensus) == export.row_count
    for row in rows:
        a_text, b_text = texts_of(row["prompt"], judged)
        assert row["chosen"] == consensus[row["prompt"]]
        assert row["rejected"] == (b_text if row["chosen"] == a_text else a_text)
        voters = [j for j in judged if j.prompt == row["prompt"] and j.picked == row["chosen"]]
        assert row["margin"] == pytest.approx(sum(abs(j.shown_confidence - 5) / 4 for j in voters) / len(voters))
        picks = [j.picked for j in judged if j.prompt == row["prompt"]]
        assert row["agreement"] == ("unanimous" if len(set(picks)) == 1 else "majority")
    by_split = Counter(r["_split"] for r in rows)
    assert manifest["counts"]["splits"] == {
        s: {"rows": by_split.get(s, 0), "prompts": by_split.get(s, 0)} for s in ("train", "validation", "test")
    }
    # No prompt in two splits.
    assert len({r["prompt"] for r in rows}) == len(rows)
    assert manifest["counts"]["dropped"].get("tie", 0) == sum(
        1 for c in expected_consensus(judged).values() if c == TIE
    )


def test_trl_per_judgment_rows_match_every_judgment(judged_project, tmp_path):
    project, labelers, judged = judged_project
    out = tmp_path / "out"
    _, manifest = run_export(project, out, format="trl", aggregation="judgment", ties="separate", include_margin=True)
    rows = all_rows(out, "jsonl", "json")
    ties = [{**r, "label": 0.5} for r in load(out / "ties.jsonl")]
    assert manifest["counts"]["tie_rows"] == len(ties) == sum(1 for j in judged if j.picked == TIE) > 0
    assert manifest["ties"]["policy"] == "separate"
    assert all("chosen" not in t and "rejected" not in t and "label" not in r for t in ties for r in rows)
    rows += [{**t, "chosen": t["response_a"], "rejected": t["response_b"], "margin": 0.0} for t in ties]
    assert len(rows) == len(judged)
    workers = {r["worker"] for r in rows}
    assert len(workers) == 3 and all(w.startswith("w_") for w in workers)
    worker_of = {}
    for row in rows:
        worker_of.setdefault(row["worker"], set()).add(row["prompt"])
    got = Counter()
    for row in rows:
        a_text, b_text = texts_of(row["prompt"], judged)
        if row.get("label") == 0.5:
            assert (row["chosen"], row["rejected"], row["margin"]) == (a_text, b_text, 0.0)
            got[(row["prompt"], row["worker"], TIE)] += 1
        else:
            got[(row["prompt"], row["worker"], row["chosen"])] += 1
    # Map each pseudonym to the labeler whose judgments it carries.
    expected = Counter()
    for labeler in labelers:
        mine = [j for j in judged if j.labeler_id == labeler.id]
        pseudonyms = {w for (p, w, _c) in got if any(j.prompt == p for j in mine)}
        match = [w for w in pseudonyms if Counter((p, c) for (p, ww, c) in got.elements() if ww == w)
                 == Counter((j.prompt, j.picked) for j in mine)]  # fmt: skip
        assert len(match) == 1, f"no pseudonym carries exactly {labeler.username}'s judgments"
        expected.update((j.prompt, match[0], j.picked) for j in mine)
    assert got == expected


def test_hf_dataset_is_a_self_contained_hub_folder(judged_project, tmp_path):
    project, _, judged = judged_project
    out = tmp_path / "hf"
    _, manifest = run_export(
        project, out, format="hf", aggregation="judgment", ties="separate", include_margin=True, split=(0.5, 0.5, 0.0)
    )
    dataset = datasets.load_dataset(str(out))  # the folder's README.md card names the files of each split
    assert set(dataset.keys()) == {"train", "validation"}  # the empty test split has a file but no config entry
    assert (out / "data" / "test-00000-of-00001.parquet").is_file()
    ties = datasets.load_dataset(str(out), "ties", split="train")
    rows = [r for split in dataset.values() for r in split]
    assert len(ties) == sum(1 for j in judged if j.picked == TIE) > 0
    assert len(rows) + len(ties) == len(judged) and len(rows) == manifest["counts"]["rows"]
    picked = Counter((j.prompt, j.picked) for j in judged if j.picked != TIE)
    assert Counter((r["prompt"], r["chosen"]) for r in rows) == picked
    assert all("summary A" in t["response_a"] and t["split"] in ("train", "validation") for t in ties)
    card = (out / "README.md").read_text()
    row = f"| train | `data/train-00000-of-00001.parquet` | {len(dataset['train'])} |"
    assert "## Ties" in card and "## Licence" in card and row in card
    listed = {entry["path"] for entry in manifest["files"]}
    assert listed | {"manifest.json"} == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def test_openai_comparisons_format(judged_project, tmp_path):
    project, _, judged = judged_project
    out = tmp_path / "oa"
    run_export(project, out, format="openai", aggregation="judgment", split=(1.0, 0.0, 0.0))
    rows = load(out / "train.jsonl")
    decisive = [j for j in judged if j.picked != TIE]
    assert len(rows) == len(decisive)
    assert (out / "valid1.jsonl").read_text() == "" and (out / "valid2.jsonl").read_text() == ""
    got = Counter((r["info"]["post"], r["summaries"][r["choice"]]["text"], r["extra"]["confidence"]) for r in rows)
    # Canonical confidence mirrors the displayed one when B was shown on the left.
    expected = Counter(
        (
            j.prompt,
            j.picked,
            j.shown_confidence if (j.left == texts_of(j.prompt, judged)[0]) else 10 - j.shown_confidence,
        )
        for j in decisive
    )
    assert got == expected
    for row in rows:
        assert [s["policy"] for s in row["summaries"]] == ["policy-one", "policy-two"]
        assert "summary A" in row["summaries"][0]["text"] and row["split"] == "train" and row["worker"].startswith("w_")


def test_hh_dialogues(judged_project, tmp_path):
    project, _, judged = judged_project
    out = tmp_path / "hh"
    run_export(project, out, format="hh", split=(1.0, 0.0, 0.0))
    rows = load(out / "train.jsonl")
    consensus = {p: c for p, c in expected_consensus(judged).items() if c != TIE}
    assert len(rows) == len(consensus)
    for row in rows:
        prompt = row["chosen"].split("\n\nHuman: ", 1)[1].split("\n\nAssistant: ")[0]
        assert row["chosen"] == f"\n\nHuman: {prompt}\n\nAssistant: {consensus[prompt]}"
        assert row["rejected"].startswith(f"\n\nHuman: {prompt}\n\nAssistant: ") and row["rejected"] != row["chosen"]


def test_raw_judgments_keep_display_order_and_revisions(judged_project, tmp_path, api_client_for):
    project, labelers, judged = judged_project
    client = api_client_for(labelers[0])
    first = client.get("/api/v1/comparisons/", {"project": project.slug}).json()["results"][0]
    revised = client.post(
        f"/api/v1/comparisons/{first['id']}/revise/", {"choice": "tie", "confidence": 5}, format="json"
    )
    assert revised.status_code == 201
    out = tmp_path / "raw"
    run_export(project, out, format="raw", all_revisions=True, split=(1.0, 0.0, 0.0))
    rows = load(out / "train.jsonl")
    assert len(rows) == len(judged) + 1
    by_id = {r["comparison_id"]: r for r in rows}
    assert by_id[first["id"]]["is_current"] is False and by_id[revised.json()["id"]]["revision"] == 2
    for row in rows:
        left_is_a = not row["swapped"]
        shown_texts = (row["response_a"], row["response_b"]) if left_is_a else (row["response_b"], row["response_a"])
        match = [j for j in judged if j.prompt == row["prompt"] and (j.left, j.right) == shown_texts
                 and j.shown_choice == row["shown_choice"] and j.shown_confidence == row["shown_confidence"]]  # fmt: skip
        if row["revision"] == 1:
            assert match, row
        assert row["time_spent_ms"] == (1200 if row["revision"] == 1 else 0)
    text = (out / "train.jsonl").read_text()
    for labeler in labelers:
        assert labeler.username not in text


@pytest.mark.parametrize("fmt", ["trl-parquet", "hf", "openai"])
def test_same_request_same_bytes_and_manifest_hashes(judged_project, tmp_path, fmt):
    project, _, _ = judged_project
    hashes = []
    for name in ("one", "two"):
        _, manifest = run_export(project, tmp_path / name, format=fmt, aggregation="judgment", seed=7)
        hashes.append({f["path"]: f["sha256"] for f in manifest["files"]})
        for entry in manifest["files"]:
            assert hashlib.sha256((tmp_path / name / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
        assert manifest["request"]["seed"] == 7 and manifest["format"] == fmt
        assert manifest["arbiter"]["version"] and manifest["policies"]
    assert hashes[0] == hashes[1]
    _, other_seed = run_export(project, tmp_path / "three", format=fmt, aggregation="judgment", seed=8)
    assert {f["path"]: f["sha256"] for f in other_seed["files"]} != hashes[0]
