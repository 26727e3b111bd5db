"""The exported TRL file trains a reward model with TRL's RewardTrainer (two steps, tiny offline model)."""

from __future__ import annotations

import os

import pytest

from labeling.exports.options import ExportRequest
from labeling.exports.services import export_create, export_run

pytestmark = pytest.mark.django_db


def test_reward_trainer_takes_two_steps_on_the_export(judged_project, tmp_path):
    os.environ["HF_HUB_OFFLINE"] = "1"
    import datasets
    import torch
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from training.tiny_model import build_tiny_model, tiny_tokenizer

    project, _, _ = judged_project
    out = tmp_path / "trl"
    request = ExportRequest(format="trl", aggregation="judgment", include_margin=True, split=(1.0, 0.0, 0.0))
    export_run(export_id=export_create(project=project, request=request, out_dir=out, enqueue=False).id)
    dataset = datasets.load_dataset("json", data_files=str(out / "train.jsonl"), split="train")
    assert {"prompt", "chosen", "rejected", "margin"} <= set(dataset.column_names)

    model_dir = build_tiny_model(tmp_path / "tiny", arch="llama", seed=0)
    tokenizer = tiny_tokenizer()
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    before = [p.detach().clone() for p in model.parameters()]
    args = RewardConfig(
        output_dir=str(tmp_path / "rm"), max_steps=2, per_device_train_batch_size=4, learning_rate=1e-3,
        logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, max_length=128, seed=0,
    )  # fmt: skip
    trainer = RewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    result = trainer.train()
    assert result.global_step == 2
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    assert any(not torch.equal(b, a.detach()) for b, a in zip(before, model.parameters()))
