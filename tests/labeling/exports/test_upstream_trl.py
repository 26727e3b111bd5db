"""TRL 1.16 reads every TRL export as Arbiter means it: its own tokenized, collated batch decodes to exactly
rewards/layout.py's encoding of the same prompt and response, and RewardTrainer / DPOTrainer train on it."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from labeling.exports.options import ExportRequest
from labeling.exports.services import export_create, export_run
from labeling.models import Comparison, Pair

from .conftest import TIE, judge_all

pytestmark = pytest.mark.django_db
os.environ["HF_HUB_OFFLINE"] = "1"
MAX_LENGTH = 512  # far above these texts: nothing is cut, so both encodings are whole


@pytest.fixture(scope="module")
def tokenizer():
    from training.loading import load_tokenizer, resolve_model

    return load_tokenizer(resolve_model("tiny"))


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    from training.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "llama", arch="llama", seed=0)


def export(project, out: Path, **options) -> dict:
    request = ExportRequest(tokenizer="tiny", split=(1.0, 0.0, 0.0), **options)
    export_run(export_id=export_create(project=project, request=request, out_dir=out, enqueue=False).id)
    return json.loads((out / "manifest.json").read_text())


def load_train(out: Path, fmt: str, cache: Path):
    import datasets

    if fmt == "hf":
        return datasets.load_dataset(str(out), split="train", cache_dir=str(cache))
    kind, suffix = ("parquet", "parquet") if fmt == "trl-parquet" else ("json", "jsonl")
    return datasets.load_dataset(kind, data_files=str(out / f"train.{suffix}"), split="train", cache_dir=str(cache))


def stored(pair_id: int, response: str) -> tuple[str, str, str]:
    """(stored prompt, this response, the other response) of a pair, from the database."""
    pair = Pair.objects.select_related("prompt", "sample_a", "sample_b").get(id=pair_id)
    texts = (pair.sample_a.text, pair.sample_b.text)
    assert response in texts, response
    return pair.prompt.text, response, texts[1] if response == texts[0] else texts[0]


def reward_trainer(model_dir: Path, tokenizer, dataset, out: Path, *, steps: int = 2):
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    args = RewardConfig(
        output_dir=str(out), max_steps=steps, per_device_train_batch_size=4, learning_rate=1e-3, logging_steps=1,
        save_strategy="no", report_to=[], use_cpu=True, max_length=MAX_LENGTH, seed=0, dataset_num_proc=None,
    )  # fmt: skip
    return RewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)


def collated_chosen(trainer) -> list[tuple[int, list[int]]]:
    """(pair_id, the chosen sequence) from TRL's own collator over its own tokenized rows."""
    rows = list(trainer.train_dataset)
    batch = trainer.data_collator([{k: r[k] for k in ("chosen_ids", "rejected_ids")} for r in rows])
    chosen_ids, mask = batch["input_ids"][: len(rows)], batch["attention_mask"][: len(rows)]  # (B, T)
    return [(r["pair_id"], ids[m.bool()].tolist()) for r, ids, m in zip(rows, chosen_ids, mask)]


def layout_ids(tokenizer, project, prompt: str, response: str) -> list[int]:
    from rewards.layout import encode_prompt_response

    encoded = encode_prompt_response(
        tokenizer, prompt, response, template=project.instruction_template, max_length=MAX_LENGTH
    )
    assert not encoded.prompt_truncated and not encoded.response_truncated
    return encoded.input_ids


@pytest.mark.parametrize("fmt", ["trl", "trl-parquet", "hf"])
def test_trl_batch_is_arbiters_layout_token_for_token_and_reward_trainer_trains(
    judged_project, tokenizer, tiny_dir, tmp_path, fmt
):
    import torch

    project, _, _ = judged_project
    out = tmp_path / fmt
    manifest = export(project, out, format=fmt, aggregation="judgment")
    assert manifest["layout"]["prompt_layout"] == "chat" and manifest["layout"]["tokenizer"] == "tiny"
    dataset = load_train(out, fmt, tmp_path / "cache")
    trainer = reward_trainer(tiny_dir, tokenizer, dataset, tmp_path / "rm")
    sequences = collated_chosen(trainer)
    assert len(sequences) == manifest["counts"]["rows"] > 0
    for (pair_id, ids), row in zip(sequences, dataset):
        prompt, chosen, _ = stored(pair_id, row["chosen"])
        assert ids == layout_ids(tokenizer, project, prompt, chosen)
        assert tokenizer.decode(ids) == row["prompt"] + chosen + tokenizer.eos_token
    before = [p.detach().clone() for p in trainer.model.parameters()]
    result = trainer.train()
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert result.global_step == 2 and len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    assert any(not torch.equal(b, a.detach()) for b, a in zip(before, trainer.model.parameters()))


def test_conversational_rows_are_messages_trl_renders_as_arbiters_layout(judged_project, tokenizer, tiny_dir, tmp_path):
    project, _, _ = judged_project
    out = tmp_path / "conv"
    export(project, out, format="trl", style="conversational", aggregation="judgment")
    dataset = load_train(out, "trl", tmp_path / "cache")
    first = dataset[0]
    assert first["prompt"][0]["role"] == "user" and first["chosen"][0]["role"] == "assistant"
    trainer = reward_trainer(tiny_dir, tokenizer, dataset, tmp_path / "rm")
    for (pair_id, ids), row in zip(collated_chosen(trainer), dataset):
        prompt, chosen, _ = stored(pair_id, row["chosen"][0]["content"])
        expected = layout_ids(tokenizer, project, prompt, chosen)
        # The chat template closes an assistant turn with more than EOS ("<|im_end|>\n"): only that may follow.
        assert ids[: len(expected)] == expected
        assert tokenizer.decode(ids[len(expected) :]).strip() == ""
    assert trainer.train().global_step == 2


def test_dpo_trainer_splits_prompt_and_completion_where_arbiter_does(judged_project, tokenizer, tiny_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig, DPOTrainer

    project, _, _ = judged_project
    out = tmp_path / "dpo"
    export(project, out, format="trl", aggregation="pair")
    dataset = load_train(out, "trl", tmp_path / "cache")
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    args = DPOConfig(
        output_dir=str(tmp_path / "dpo-run"), max_steps=2, per_device_train_batch_size=2, learning_rate=1e-3,
        logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, max_length=MAX_LENGTH, seed=0,
    )  # fmt: skip
    trainer = DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    for processed, row in zip(trainer.train_dataset, dataset):
        prompt, chosen, rejected = stored(row["pair_id"], row["chosen"])
        assert processed["prompt_ids"] + processed["chosen_ids"] == layout_ids(tokenizer, project, prompt, chosen)
        assert processed["prompt_ids"] + processed["rejected_ids"] == layout_ids(tokenizer, project, prompt, rejected)
    result = trainer.train()
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert result.global_step == 2 and all(torch.isfinite(torch.tensor(losses)))


def test_ties_never_become_training_rows_by_default(judged_project, tokenizer, tiny_dir, tmp_path):
    project, _, judged = judged_project
    out = tmp_path / "ties"
    manifest = export(project, out, format="trl", aggregation="judgment", prompt_layout="stored")
    assert manifest["ties"]["policy"] == "drop" and not (out / "ties.jsonl").exists()
    dataset = load_train(out, "trl", tmp_path / "cache")
    trainer = reward_trainer(tiny_dir, tokenizer, dataset, tmp_path / "rm")
    trained = Counter(row["prompt"] for row in trainer.train_dataset)
    decisive = Counter(j.prompt for j in judged if j.picked != TIE)
    assert trained == decisive and sum(1 for j in judged if j.picked == TIE) == manifest["counts"]["dropped"]["tie"]


def test_bare_prompts_join_with_a_separator_and_hh_dialogues_become_turns(
    make_project, make_user, api_client_for, tokenizer, tmp_path
):
    dialogues = [
        {
            "chosen": f"\n\nHuman: Question {i}?\n\nAssistant: First answer {i}.\n\nHuman: And then?\n\nAssistant: Good {i}.",
            "rejected": f"\n\nHuman: Question {i}?\n\nAssistant: First answer {i}.\n\nHuman: And then?\n\nAssistant: Bad {i}.",
        }
        for i in range(4)
    ]
    labelers = [make_user() for _ in range(2)]
    project = make_project(pairs=0, members=labelers, overlap=2, gold_rate=0.0)
    created = api_client_for(project.created_by).post(
        f"/api/v1/projects/{project.slug}/imports/pairs/", {"lines": [json.dumps(d) for d in dialogues]}, format="json"
    )
    assert created.status_code == 201, created.json()
    judge_all(project=project, labelers=labelers, api_client_for=api_client_for)
    Comparison.objects.filter(pair__project=project).update(choice="a", confidence=1)
    bare = tmp_path / "bare"
    export(project, bare, format="trl", prompt_layout="bare")
    rows = [json.loads(line) for line in (bare / "train.jsonl").read_text().splitlines()]
    assert rows and all(r["prompt"].endswith("\n\nAssistant:") and r["chosen"].startswith(" ") for r in rows)
    assert all((r["prompt"] + r["chosen"]).startswith("\n\nHuman: Question") for r in rows)
    conv = tmp_path / "conv"
    export(project, conv, format="trl", style="conversational")
    for row in (json.loads(line) for line in (conv / "train.jsonl").read_text().splitlines()):
        i = row["prompt"][0]["content"].split()[-1].rstrip("?")
        assert row["prompt"] == [
            {"role": "user", "content": f"Question {i}?"},
            {"role": "assistant", "content": f"First answer {i}."},
            {"role": "user", "content": "And then?"},
        ]
        assert [m["role"] for m in row["chosen"]] == ["assistant"] and row["chosen"][0]["content"] in (
            f"Good {i}.",
            f"Bad {i}.",
        )
        # TRL renders it with the chat template as a real multi-turn conversation.
        text = tokenizer.apply_chat_template(row["prompt"] + row["chosen"], tokenize=False)
        assert text.count("<|im_start|>user") == 2 and text.count("<|im_start|>assistant") == 2


def test_soft_ties_with_a_trl_format_are_refused():
    from labeling.exports.options import ExportRequestError

    for fmt in ("trl", "trl-parquet", "hf"):
        with pytest.raises(ExportRequestError, match="never a soft label"):
            ExportRequest(format=fmt, ties="soft")
    assert ExportRequest(format="trl", ties="separate").ties == "separate"


@pytest.mark.parametrize("script", ["reward", "dpo"])
def test_the_readme_trl_commands_train_on_the_export_folder(judged_project, tiny_dir, tmp_path, script):
    """`trl reward` / `trl dpo --dataset_name <export folder>`, as the README shows them, in a child process."""
    import subprocess
    import sys

    project, _, _ = judged_project
    out = tmp_path / "trl"
    export(project, out, format="trl", aggregation="judgment")
    before = sorted(p.name for p in out.iterdir())
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache"), "WANDB_DISABLED": "1"}
    command = [
        str(Path(sys.executable).parent / "trl"), script, "--model_name_or_path", str(tiny_dir),
        "--dataset_name", str(out), "--output_dir", str(tmp_path / script), "--max_steps", "2",
        "--per_device_train_batch_size", "4", "--max_length", "256", "--use_cpu", "--report_to", "none",
        "--save_strategy", "no", "--eval_strategy", "no", "--logging_steps", "1",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "'train_loss'" in done.stdout + done.stderr  # the trainer's summary after its 2 steps
    assert list((tmp_path / script).glob("*.safetensors"))  # the script saved the trained model
    assert sorted(p.name for p in out.iterdir()) == before
