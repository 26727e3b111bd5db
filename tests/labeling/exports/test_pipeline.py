"""The export loop on plain records, without a database: files per split, tie routing, layouts, empty selections."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from labeling.exports.aggregate import JudgmentRecord, PairInfo, Scale
from labeling.exports.layout import PromptLayout, hh_messages, response_separator
from labeling.exports.options import ExportRequest
from labeling.exports.pipeline import EmptySelectionError, dataset_write
from labeling.exports.pseudonym import Pseudonymizer

SCALE = Scale(1, 9)


def pair(i: int, prompt: str | None = None) -> PairInfo:
    return PairInfo(
        pair_id=i, prompt_id=i, prompt=prompt or f"Post {i}.", prompt_hash=f"h{i}", text_a=f"A{i}", text_b=f"B{i}",
        policy_a="pa", policy_b="pb", batch="b1", is_gold=False, prompt_metadata={"title": f"T{i}"},
    )  # fmt: skip


def judgment(n: int, labeler: int, choice: str, confidence: int | None) -> JudgmentRecord:
    return JudgmentRecord(n, labeler, choice, confidence, choice, confidence, False, 0, 1, True, None)


def groups(choices: list[list[str]]):
    """One pair per entry, judged by labelers 1..n with these choices ('a' at 2, 'b' at 8, 'tie' at 5)."""
    conf = {"a": 2, "b": 8, "tie": 5, "both_bad": None}
    n = 0
    for i, picks in enumerate(choices):
        js = []
        for labeler, choice in enumerate(picks, 1):
            n += 1
            js.append(judgment(n, labeler, choice, conf[choice]))
        yield pair(i), js


def write(tmp_path: Path, choices, *, name: str = "out", layout: PromptLayout | None = None, **options):
    out = tmp_path / name
    out.mkdir()
    request = ExportRequest(split=(1.0, 0.0, 0.0), **options)
    result = dataset_write(groups=groups(choices), request=request, scale=SCALE, pseudonym=Pseudonymizer("k"),
                           out_dir=out, layout=layout)  # fmt: skip
    return out, result


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ties_go_to_their_own_file_and_never_to_a_split(tmp_path):
    choices = [["a", "a", "b"], ["tie", "tie", "a"], ["b", "b", "b"]]
    out, result = write(tmp_path, choices, format="trl", ties="separate")
    train = jsonl(out / "train.jsonl")
    assert [(r["pair_id"], r["chosen"]) for r in train] == [(0, "A0"), (2, "B2")]
    assert jsonl(out / "ties.jsonl") == [
        {"prompt": "Post 1.", "response_a": "A1", "response_b": "B1", "agreement": "majority", "pair_id": 1,
         "split": "train"}
    ]  # fmt: skip
    assert result.tie_rows == 1 and result.rows_per_split == {"train": 2, "validation": 0, "test": 0}
    dropped, result = write(tmp_path, choices, name="drop", format="trl")
    assert not (dropped / "ties.jsonl").exists() and result.tally.dropped["tie"] == 1 and result.tie_rows is None


def test_every_split_file_exists_and_the_card_lists_only_non_empty_ones(tmp_path):
    out, result = write(tmp_path, [["a"], ["b"]], format="trl-parquet")
    assert [f["path"] for f in result.files] == ["train.parquet", "validation.parquet", "test.parquet", "README.md"]
    assert pq.read_metadata(out / "test.parquet").num_rows == 0
    card = (out / "README.md").read_text()
    assert (
        "path: train.parquet" in card and "path: test.parquet" not in card and "| test | `test.parquet` | 0 |" in card
    )


def test_bare_layout_separates_prompt_and_response_and_stored_keeps_texts(tmp_path):
    out, _ = write(tmp_path, [["a"]], name="bare", format="trl", layout=PromptLayout("bare"))
    assert jsonl(out / "train.jsonl")[0] == {"prompt": "Post 0.", "chosen": "\n\nA0", "rejected": "\n\nB0",
                                                   "agreement": "single", "pair_id": 0}  # fmt: skip
    out, _ = write(tmp_path, [["a"]], name="stored", format="trl", layout=PromptLayout("stored"))
    assert jsonl(out / "train.jsonl")[0]["chosen"] == "A0"
    assert response_separator("\n\nHuman: Hi\n\nAssistant:") == " "
    assert response_separator("Ends with a space ") == ""


def test_conversational_parquet_holds_message_lists(tmp_path):
    layout = PromptLayout("chat", template="Summarise:\n{text}")
    out, _ = write(tmp_path, [["b"]], format="trl-parquet", style="conversational", layout=layout)
    row = pq.read_table(out / "train.parquet").to_pylist()[0]
    assert row["prompt"] == [{"role": "user", "content": "Summarise:\nPost 0."}]
    assert row["chosen"] == [{"role": "assistant", "content": "B0"}]
    assert row["rejected"] == [{"role": "assistant", "content": "A0"}]


def test_hh_dialogue_turns():
    dialogue = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Joke?\n\nAssistant:"
    assert hh_messages(dialogue) == [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Joke?"},
    ]
    assert PromptLayout("chat", template="T {text}").prompt_messages(dialogue) == hh_messages(dialogue)


def test_openai_rows_per_pair_name_a_consensus_worker_and_integer_confidence(tmp_path):
    out, _ = write(tmp_path, [["b", "b", "a"]], format="openai", aggregation="pair")
    (row,) = jsonl(out / "train.jsonl")
    assert row["choice"] == 1 and row["worker"] == "consensus" and row["extra"]["confidence"] == 8
    assert row["info"] == {"id": "h0", "post": "Post 0.", "title": "T0", "subreddit": None}
    assert row["extra"]["votes"] == {"a": 1, "b": 2, "tie": 0, "both_bad": 0}
    assert (out / "valid1.jsonl").read_text() == "" and (out / "valid2.jsonl").read_text() == ""


def test_an_empty_selection_leaves_no_file(tmp_path):
    with pytest.raises(EmptySelectionError, match=r"dropped \(2 tie\)"):
        write(tmp_path, [["tie"], ["tie"]], format="hf")
    assert list((tmp_path / "out").iterdir()) == []
