"""summarize-from-feedback and Hugging Face exports read by code written to their published layouts."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from labeling.exports.options import ExportRequest
from labeling.exports.services import export_create, export_run
from labeling.exports.split import split_for_prompt
from labeling.models import Prompt

from .conftest import TIE

pytestmark = pytest.mark.django_db
os.environ["HF_HUB_OFFLINE"] = "1"
OPENAI_SPLITS = ("train", "valid1", "valid2")
FRACTIONS = (0.4, 0.3, 0.3)


def export(project, out: Path, **options) -> dict:
    request = ExportRequest(**options)
    export_run(export_id=export_create(project=project, request=request, out_dir=out, enqueue=False).id)
    return json.loads((out / "manifest.json").read_text())


def seed_with_every_split(project) -> int:
    hashes = list(Prompt.objects.filter(project=project).values_list("content_hash", flat=True))
    for seed in range(100):
        drawn = {split_for_prompt(prompt_key=h, seed=seed, fractions=FRACTIONS) for h in hashes}
        if len(drawn) == 3:
            return seed
    raise AssertionError("no seed puts a prompt in every split")


def read_comparisons(path: Path) -> list[tuple[str, str, int]]:
    """A reader written to openai/summarize-from-feedback's README: (post, preferred summary, confidence)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        c = json.loads(line)
        assert set(c) == {"info", "summaries", "choice", "worker", "batch", "split", "extra"}
        assert set(c["info"]) == {"id", "post", "title", "subreddit"}
        assert all(set(s) == {"text", "policy", "note"} for s in c["summaries"]) and len(c["summaries"]) == 2
        assert type(c["choice"]) is int and c["choice"] in (0, 1)
        assert isinstance(c["worker"], str) and c["worker"] and isinstance(c["batch"], str)
        assert c["split"] in OPENAI_SPLITS and path.stem == c["split"]
        assert c["extra"]["confidence"] is None or type(c["extra"]["confidence"]) is int
        out.append((c["info"]["post"], c["summaries"][c["choice"]]["text"], c["extra"]["confidence"]))
    return out


def test_openai_is_the_summarize_from_feedback_layout(judged_project, tmp_path):
    import datasets

    project, _, judged = judged_project
    titled = Prompt.objects.filter(project=project).order_by("id")[:4]
    for prompt in titled:
        prompt.metadata = {"title": f"Title of {prompt.id}", "subreddit": "relationships"}
        prompt.save(update_fields=["metadata"])
    out = tmp_path / "oa"
    seed = seed_with_every_split(project)
    manifest = export(project, out, format="openai", ties="separate", split=FRACTIONS, seed=seed)
    assert manifest["request"]["aggregation"] == "judgment"  # per judgment by default, as the original release
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["README.md", "manifest.json", "ties.jsonl"] + [f"{s}.jsonl" for s in OPENAI_SPLITS]
    )
    rows = [r for split in OPENAI_SPLITS for r in read_comparisons(out / f"{split}.jsonl")]
    decisive = [j for j in judged if j.picked != TIE]
    assert Counter((post, text) for post, text, _ in rows) == Counter((j.prompt, j.picked) for j in decisive)
    ties = [json.loads(line) for line in (out / "ties.jsonl").read_text().splitlines()]
    assert len(ties) == len(judged) - len(decisive) > 0 and all(t["choice"] is None for t in ties)
    lines = [json.loads(line) for s in OPENAI_SPLITS for line in (out / f"{s}.jsonl").read_text().splitlines()]
    assert len({json.dumps(sorted(r["extra"])) for r in lines}) == 1  # the same extra keys on every row
    assert len({json.dumps(sorted(r["extra"]["votes"])) for r in lines}) == 1
    titles = {r["info"]["post"]: (r["info"]["title"], r["info"]["subreddit"]) for r in lines}
    for prompt in Prompt.objects.filter(project=project):
        if prompt.text in titles:
            meta = prompt.metadata or {}
            assert titles[prompt.text] == (meta.get("title"), meta.get("subreddit"))
    # Every split loads with `datasets`, in any order, alone or together.
    files = {s: str(out / f"{s}.jsonl") for s in OPENAI_SPLITS}
    for order in itertools.permutations(OPENAI_SPLITS):
        together = datasets.load_dataset("json", data_files=[files[s] for s in order], split="train",
                                         cache_dir=str(tmp_path / "cache"))  # fmt: skip
        assert len(together) == len(rows)
        named = datasets.load_dataset("json", data_files={s: files[s] for s in order}, cache_dir=str(tmp_path / "c"))
        assert all(isinstance(r["choice"], int) for split in named.values() for r in split)
    card = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "card"))  # README.md names the splits
    assert set(card) == set(OPENAI_SPLITS)


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_training_from_an_hf_export_leaves_it_unchanged(judged_project, tmp_path):
    import datasets
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from training.loading import load_tokenizer, resolve_model
    from training.tiny_model import build_tiny_model

    project, _, _ = judged_project
    out = tmp_path / "hf"
    manifest = export(project, out, format="hf", tokenizer="tiny", aggregation="judgment", split=(0.5, 0.5, 0.0))
    before = _snapshot(out)
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert {k: v for k, v in before.items() if k != "manifest.json"} == listed
    dataset = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    model_dir = build_tiny_model(tmp_path / "tiny", arch="llama", seed=0)
    tokenizer = load_tokenizer(resolve_model("tiny"))
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    args = RewardConfig(
        output_dir=str(tmp_path / "rm"), max_steps=2, per_device_train_batch_size=4, logging_steps=1,
        save_strategy="no", report_to=[], use_cpu=True, max_length=256, eval_strategy="steps", eval_steps=2,
    )  # fmt: skip
    trainer = RewardTrainer(model=model, args=args, train_dataset=dataset["train"],
                            eval_dataset=dataset["validation"], processing_class=tokenizer)  # fmt: skip
    assert trainer.train().global_step == 2
    assert _snapshot(out) == before  # no cache-*.arrow or anything else was written into the export


@pytest.mark.parametrize("fmt", ["trl", "trl-parquet", "hf", "openai", "hh", "raw"])
def test_every_split_has_a_file_even_when_empty(judged_project, tmp_path, fmt):
    project, _, _ = judged_project
    out = tmp_path / fmt
    manifest = export(project, out, format=fmt, prompt_layout="stored", split=(1.0, 0.0, 0.0))
    data_files = [f for f in manifest["files"] if f["path"] != "README.md"]
    assert len(data_files) == 3 and [f["rows"] for f in data_files][1:] == [0, 0]
    assert all((out / f["path"]).is_file() for f in data_files)
