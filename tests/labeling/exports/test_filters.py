"""Filters and defaults: gold, flags, exclusions, both-bad, batches/rounds, policies, dates, agreement; clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from common.errors import Conflict
from labeling.exports.models import Export, ExportStatus
from labeling.exports.options import ExportRequest, ExportRequestError
from labeling.exports.services import EmptyExport, ExportPathError, export_create, export_run
from labeling.models import Assignment, Comparison, LabelerExclusion, Pair, PairFlag
from labeling.services.imports import pairs_import

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def judge(pair: Pair, labeler, choice: str, *, confidence: int | None = None, at: datetime = T0) -> Comparison:
    assignment = Assignment.objects.create(
        pair=pair, labeler=labeler, status="submitted", swapped=False, created_at=at, expires_at=at, closed_at=at
    )
    return Comparison.objects.create(
        assignment=assignment, pair=pair, labeler=labeler, choice=choice, shown_choice=choice,
        confidence=confidence, shown_confidence=confidence, created_at=at,
    )  # fmt: skip


def rejudge(pair: Pair, labeler, choice: str, *, confidence: int | None = None) -> Comparison:
    Comparison.objects.filter(pair=pair, labeler=labeler).delete()
    Assignment.objects.filter(pair=pair, labeler=labeler).delete()
    return judge(pair, labeler, choice, confidence=confidence)


@pytest.fixture
def setup(make_project, make_user, researcher):
    project = make_project(pairs=0, overlap=3, gold_rate=0.0)
    lines = [
        json.dumps({"prompt": f"p{i}", "response_a": f"a{i}", "response_b": f"b{i}", "policy_a": "one",
                    "policy_b": "two" if i < 4 else "three", "batch": "round-1" if i < 4 else "round-2"})
        for i in range(6)
    ]  # fmt: skip
    pairs_import(project=project, lines=lines)
    pairs_import(project=project, lines=[json.dumps({"prompt": "g", "response_a": "ga", "response_b": "gb",
                                                     "gold_choice": "a"})])  # fmt: skip
    labelers = [make_user() for _ in range(3)]
    pairs = {p.prompt.text: p for p in Pair.objects.filter(project=project).select_related("prompt")}
    for i in range(6):
        for _day, labeler in enumerate(labelers):
            judge(pairs[f"p{i}"], labeler, "a", confidence=2, at=T0 + timedelta(days=i))
    for labeler in labelers:
        judge(pairs["g"], labeler, "a")
    return project, labelers, pairs, researcher


def rows(project, tmp_path: Path, name: str = "out", **options) -> list[dict]:
    out = tmp_path / name
    export = export_create(project=project, request=ExportRequest(format="trl", split=(1, 0, 0), prompt_layout="stored", **options),
                           out_dir=out, enqueue=False)  # fmt: skip
    export_run(export_id=export.id)
    return [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]


def prompts(found: list[dict]) -> set[str]:
    return {r["prompt"] for r in found}


def test_gold_excluded_by_default(setup, tmp_path):
    project, *_ = setup
    assert prompts(rows(project, tmp_path)) == {f"p{i}" for i in range(6)}
    assert "g" in prompts(rows(project, tmp_path, "gold", include_gold=True))


def test_unresolved_flags_exclude_the_pair(setup, tmp_path):
    project, labelers, pairs, researcher = setup
    flag = PairFlag.objects.create(pair=pairs["p1"], labeler=labelers[0], reason="broken", created_at=T0)
    assert "p1" not in prompts(rows(project, tmp_path, "a"))
    assert "p1" in prompts(rows(project, tmp_path, "b", include_flagged=True))
    raw = tmp_path / "raw"
    export_run(export_id=export_create(
        project=project, request=ExportRequest(format="raw", include_flagged=True, split=(1, 0, 0)), out_dir=raw,
        enqueue=False,
    ).id)  # fmt: skip
    flagged = [json.loads(line) for line in (raw / "train.jsonl").read_text().splitlines() if '"p1"' in line]
    assert len(flagged) == 3 and all(r["flags"] == [{"worker": flagged[0]["flags"][0]["worker"], "reason": "broken",
                                                     "resolved": False}] for r in flagged)  # fmt: skip
    assert flagged[0]["flags"][0]["worker"] in {r["worker"] for r in flagged}
    PairFlag.objects.filter(id=flag.id).update(resolved_at=T0, resolved_by=researcher)
    assert "p1" in prompts(rows(project, tmp_path, "c"))


def test_excluded_labelers_are_left_out_until_lifted(setup, tmp_path):
    project, labelers, pairs, researcher = setup
    # The excluded labeler is the only one preferring b on p2: with them, p2 is a majority for a, without, unanimous.
    rejudge(pairs["p2"], labelers[2], "b", confidence=8)
    exclusion = LabelerExclusion.objects.create(
        project=project, labeler=labelers[2], reason="spam", created_by=researcher
    )
    found = {r["prompt"]: r for r in rows(project, tmp_path, "a", aggregation="judgment")}
    assert len(rows(project, tmp_path, "b", aggregation="judgment")) == 12
    assert found["p2"]["agreement"] == "unanimous"
    assert len(rows(project, tmp_path, "c", aggregation="judgment", include_excluded_labelers=True)) == 18
    LabelerExclusion.objects.filter(id=exclusion.id).update(lifted_at=T0, lifted_by=researcher)
    assert {r["prompt"]: r for r in rows(project, tmp_path, "d")}["p2"]["agreement"] == "majority"


def test_both_bad_dropped_and_min_agreement(setup, tmp_path):
    project, labelers, pairs, _ = setup
    for labeler in labelers[:2]:
        rejudge(pairs["p3"], labeler, "both_bad")
    rejudge(pairs["p4"], labelers[0], "b", confidence=9)
    found = rows(project, tmp_path, "a")
    assert "p3" not in prompts(found)  # both-bad majority
    assert {r["prompt"]: r["agreement"] for r in found}["p4"] == "majority"
    assert "p4" not in prompts(rows(project, tmp_path, "b", min_agreement="unanimous"))
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["counts"]["dropped"] == {"both_bad": 1}
    assert manifest["agreement"]["pairs_by_level"]["majority"] == 2
    with pytest.raises(ExportRequestError, match="only the raw format"):
        ExportRequest(format="trl", include_both_bad=True)


def test_batches_rounds_policies_and_dates(setup, tmp_path):
    project, *_ = setup
    assert prompts(rows(project, tmp_path, "a", batches=("round-2",))) == {"p4", "p5"}
    assert prompts(rows(project, tmp_path, "b", policies=("three",))) == {"p4", "p5"}
    assert prompts(rows(project, tmp_path, "c", policies=("one",))) == {f"p{i}" for i in range(6)}
    since, until = T0 + timedelta(days=1), T0 + timedelta(days=3)
    assert prompts(rows(project, tmp_path, "d", since=since, until=until)) == {"p1", "p2"}
    out = tmp_path / "cmd"
    call_command("export_preferences", project=project.slug, format="trl", out=str(out), round=[1], split=(1, 0, 0),
                 prompt_layout="stored", no_progress=True)  # fmt: skip
    found = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert prompts(found) == {"p0", "p1", "p2", "p3"}
    assert json.loads((out / "manifest.json").read_text())["request"]["batches"] == ["round-1"]


def test_errors_are_clear_and_leave_no_files(setup, tmp_path):
    project, *_ = setup
    with pytest.raises(CommandError, match="Unknown project 'nope'"):
        call_command("export_preferences", project="nope", format="trl", out=str(tmp_path / "x"))
    empty = tmp_path / "empty"
    export = export_create(project=project, request=ExportRequest(format="trl", prompt_layout="stored", batches=("round-9",)), out_dir=empty,
                           enqueue=False)  # fmt: skip
    with pytest.raises(EmptyExport, match="No judgments match"):
        export_run(export_id=export.id)
    assert not empty.exists()
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and "No judgments match" in export.error
    with pytest.raises(CommandError, match=r"All 18 matching judgment\(s\) were dropped \(6 tie\)"):
        _all_ties(project, tmp_path / "ties")
    assert not (tmp_path / "ties").exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ExportPathError, match="a-file is not a writable folder"):
        export_create(project=project, request=ExportRequest(format="trl"), out_dir=blocker / "sub", enqueue=False)
    with pytest.raises(CommandError, match="it is a file, not a folder"):
        call_command("export_preferences", project=project.slug, format="trl", out=str(blocker))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_preferences", project=project.slug, format="trl", out=str(tmp_path / "full"))
    assert (tmp_path / "full" / "x").read_text() == "keep me"
    assert Export.objects.filter(status=ExportStatus.DONE).count() == 0


def _all_ties(project, out: Path) -> None:
    """Every judgment matches but every pair is a tie, so every row is dropped."""
    Comparison.objects.filter(pair__project=project).update(choice="tie", confidence=5)
    call_command(
        "export_preferences", project=project.slug, format="trl", out=str(out), prompt_layout="stored", no_progress=True
    )


def test_a_claimed_export_runs_once_and_a_failed_or_orphaned_one_reruns_cleanly(setup, tmp_path):
    project, *_ = setup
    out = tmp_path / "again"
    request = ExportRequest(format="trl", split=(1, 0, 0), prompt_layout="stored")
    export = export_create(project=project, request=request, out_dir=out, enqueue=False)
    Export.objects.filter(id=export.id).update(status=ExportStatus.RUNNING)
    with pytest.raises(Conflict, match="already running"):
        export_run(export_id=export.id)
    # A worker died mid-run: partial files are there; the redelivered task resumes and replaces them.
    out.mkdir()
    (out / "train.jsonl").write_text("partial")
    (out / ".hf-staging").mkdir()
    done = export_run(export_id=export.id, resume_running=True)
    assert done.status == ExportStatus.DONE and sorted(p.name for p in out.iterdir()) == [
        "README.md", "manifest.json", "test.jsonl", "train.jsonl", "validation.jsonl",
    ]  # fmt: skip
    assert len((out / "train.jsonl").read_text().splitlines()) == done.row_count == 6
    with pytest.raises(Conflict, match="already done"):
        export_run(export_id=export.id, resume_running=True)


def test_streamed_groups_do_not_depend_on_the_cursor_chunk_size(setup):
    from labeling.exports.selection import comparisons_selected, judgment_groups

    project, *_ = setup
    qs = comparisons_selected(project=project, request=ExportRequest(format="raw", include_gold=True))

    def shape(chunk_size: int):
        return [(p.pair_id, p.prompt, [(j.comparison_id, j.choice, j.created_at) for j in js])
                for p, js in judgment_groups(qs, detailed=True, chunk_size=chunk_size)]  # fmt: skip

    expected = shape(5_000)
    assert len(expected) == 7 and sum(len(js) for _, _, js in expected) == 21
    assert shape(1) == shape(2) == expected
