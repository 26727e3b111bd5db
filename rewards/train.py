"""Reward-model training with TRL's RewardTrainer on the policy backbone, then evaluation and saving."""

from __future__ import annotations

import dataclasses
import json
import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import datasets
import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PrinterCallback,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.trainer_pt_utils import LengthGroupedSampler
from trl import RewardConfig as TRLRewardConfig
from trl import RewardTrainer
from trl.trainer.reward_trainer import suppress_seqcls_warning

from rewards.config import RewardConfig
from rewards.data import PreferenceExample, preferences_hash
from rewards.layout import encode_prompt_response
from rewards.metrics import preference_metrics
from rewards.scoring import encode_pairs, score_token_ids
from training.loading import REWARD_CONFIG_FILE, load_tokenizer, pick_device
from training.lora import lineage_write, lora_apply, lora_merged

ProgressFn = Callable[[float, str], None]


@dataclass
class RewardTrainResult:
    out_dir: Path
    metrics: dict[str, Any]
    """Held-out metrics (accuracy, n, ci95, reward_mean, reward_std, calibration, ...); empty without eval data."""
    loss_history: list[float]
    """Training loss at each logging step, first step included."""
    prompts_truncated: int
    """Training + eval pairs whose prompt was cut from the left to fit max_length."""
    responses_truncated: int
    """Pairs whose response alone exceeded the budget and was cut on the right."""
    reward_bias: float
    """Added to raw head outputs so reference outputs score 0 on average."""
    data_hash: str
    train_tokens: int
    """Non-padding tokens processed in training (both sequences of every pair, all epochs)."""
    train_seconds: float
    trainable_parameters: int
    extra: dict[str, Any] = field(default_factory=dict)


def _encode_examples(
    tokenizer: PreTrainedTokenizerBase, examples: list[PreferenceExample], config: RewardConfig
) -> tuple[list[dict[str, Any]], int, int]:
    rows: list[dict[str, Any]] = []
    prompts_cut, responses_cut = 0, 0
    for example in examples:
        chosen, rejected = (
            encode_prompt_response(
                tokenizer, example.prompt, text, template=config.instruction_template, max_length=config.max_length
            )
            for text in (example.chosen, example.rejected)
        )
        prompts_cut += chosen.prompt_truncated or rejected.prompt_truncated
        responses_cut += chosen.response_truncated or rejected.response_truncated
        row: dict[str, Any] = {
            "chosen_ids": chosen.input_ids,
            "rejected_ids": rejected.input_ids,
        }
        if config.use_margins:
            row["margin"] = float(example.margin) if example.margin is not None else 0.0
        rows.append(row)
    return rows, prompts_cut, responses_cut


def _transformer_blocks(model: PreTrainedModel) -> torch.nn.ModuleList:
    backbone = model.base_model
    for name in ("layers", "h", "blocks"):
        blocks = getattr(backbone, name, None)
        if isinstance(blocks, torch.nn.ModuleList):
            return blocks
    raise ValueError(f"cannot find the transformer blocks of {type(model).__name__} to freeze")


def _freeze_lower(model: PreTrainedModel, n_layers: int) -> None:
    if n_layers == 0:
        return
    blocks = _transformer_blocks(model)
    if n_layers > len(blocks):
        raise ValueError(f"freeze_layers={n_layers} but the model has only {len(blocks)} blocks")
    frozen = [model.get_input_embeddings(), *blocks[:n_layers]]
    position = getattr(model.base_model, "wpe", None)  # GPT-2 learned positions
    if position is not None:
        frozen.append(position)
    for module in frozen:
        module.requires_grad_(False)


def _init_head(model: PreTrainedModel, seed: int) -> None:
    # Reward head std 1/sqrt(d_model + 1), Huang et al. 2024 ("The N+ implementation details of RLHF").
    head = cast(torch.nn.Linear, model.score)  # a sequence classifier's scalar head
    generator = torch.Generator().manual_seed(seed)
    d_model = head.weight.shape[1]
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) / math.sqrt(d_model + 1))
        if getattr(head, "bias", None) is not None:
            head.bias.zero_()


class _ProgressCallback(TrainerCallback):
    """Forwards training progress; an exception raised by `progress` stops the run (cancellation)."""

    def __init__(self, progress: ProgressFn | None, share: float) -> None:
        self.progress, self.share = progress, share
        self.losses: list[float] = []

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if self.progress is not None and state.max_steps:
            self.progress(
                self.share * state.global_step / state.max_steps, f"step {state.global_step}/{state.max_steps}"
            )

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))


class _LengthGroupedRewardTrainer(RewardTrainer):
    """Batches pairs of similar length: far fewer pad tokens on CPU, where padding costs full compute.

    Transformers' own group_by_length cannot see pre-tokenized pair columns, so lengths are passed in.
    """

    def __init__(self, *args: Any, pair_lengths: list[int], **kwargs: Any) -> None:
        self._pair_lengths = pair_lengths
        super().__init__(*args, **kwargs)

    def _get_train_sampler(self, train_dataset: datasets.Dataset | None = None) -> LengthGroupedSampler:
        batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return LengthGroupedSampler(batch, lengths=self._pair_lengths)


def _trl_args(config: RewardConfig, output_dir: str) -> TRLRewardConfig:
    on_cuda = pick_device().type == "cuda"
    return TRLRewardConfig(
        output_dir=output_dir,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        num_train_epochs=config.num_epochs,
        max_steps=config.max_steps,
        warmup_steps=config.warmup_ratio,  # < 1 means a ratio of the total steps
        weight_decay=config.weight_decay,
        adam_epsilon=config.adam_eps,
        lr_scheduler_type="linear",
        activation_checkpointing=config.gradient_checkpointing,
        bf16=on_cuda,
        # Without CUDA, only use_cpu makes the Trainer join a launched multi-process (gloo) group.
        use_cpu=not on_cuda,
        max_length=None,  # sequences are already cut to fit; TRL's filter would silently drop pairs
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        seed=config.seed,
        data_seed=config.seed,
        dataloader_pin_memory=on_cuda,
        disable_tqdm=True,
    )


def reward_model_train(
    *,
    config: RewardConfig,
    train: list[PreferenceExample],
    eval: list[PreferenceExample],
    base_model_dir: Path | str,
    out_dir: Path | str,
    progress: ProgressFn | None = None,
    reference: list[tuple[str, str]] | None = None,
) -> RewardTrainResult:
    """Train a scalar-head reward model from `base_model_dir`'s backbone and save it to `out_dir`.

    `reference` are (prompt, response) pairs whose mean reward becomes 0; default: chosen responses
    of up to `config.reference_limit` training pairs. Writes weights, tokenizer and reward_config.json
    (config, metrics, data hash, truncation counts); reward_config.json is written last.
    """
    if not train:
        raise ValueError("no training examples")
    out_dir = Path(out_dir)
    tokenizer = load_tokenizer(base_model_dir)
    tokenizer.padding_side = "right"
    rows, prompts_cut, responses_cut = _encode_examples(tokenizer, train, config)
    eval_rows, eval_prompts_cut, eval_responses_cut = _encode_examples(tokenizer, eval, config)

    torch.manual_seed(config.seed)
    with suppress_seqcls_warning():  # the missing `score` weights are expected: the head is new
        model = AutoModelForSequenceClassification.from_pretrained(
            Path(base_model_dir), num_labels=1, dtype=torch.float32
        )
    model.config.pad_token_id = tokenizer.pad_token_id
    _init_head(model, config.seed)
    _freeze_lower(model, config.freeze_layers)
    if config.lora.enabled:
        model = lora_apply(model, config.lora, task="SEQ_CLS")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    callback = _ProgressCallback(progress, share=0.8)
    with tempfile.TemporaryDirectory(prefix="reward-train-") as scratch:
        trainer = _LengthGroupedRewardTrainer(
            model=model,
            pair_lengths=[max(len(r["chosen_ids"]), len(r["rejected_ids"])) for r in rows],
            args=_trl_args(config, scratch),
            train_dataset=datasets.Dataset.from_list(rows),
            processing_class=tokenizer,
            callbacks=[callback],
        )
        trainer.remove_callback(PrinterCallback)  # losses reach the caller through `progress` and the result
        started = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - started
    epochs_run = trainer.state.epoch or config.num_epochs
    train_tokens = round(sum(len(r["chosen_ids"]) + len(r["rejected_ids"]) for r in rows) * epochs_run)

    trained = cast(torch.nn.Module, trainer.model)  # the model it was given, never None after train()
    # A plain sequence classifier from here on: scored, saved, loaded by PPO.
    model = lora_merged(trained) if config.lora.enabled else cast(PreTrainedModel, trained)
    is_main = trainer.accelerator.is_main_process
    if progress is not None:
        progress(0.85, "reference offset")
    if reference is None:
        picked = random.Random(config.seed).sample(train, min(len(train), config.reference_limit))
        reference = [(e.prompt, e.chosen) for e in picked]
    ref_ids = encode_pairs(
        tokenizer,
        [p for p, _ in reference],
        [r for _, r in reference],
        template=config.instruction_template,
        max_length=config.max_length,
    )
    raw_ref = score_token_ids(
        model,
        ref_ids,
        pad_token_id=tokenizer.pad_token_id,
        batch_size=config.eval_batch_size,
        progress=None if progress is None else lambda f: progress(0.85 + 0.05 * f, "reference offset"),
    )
    reward_bias = -float(raw_ref.mean())

    metrics: dict[str, Any] = {}
    if eval_rows:
        if progress is not None:
            progress(0.9, "held-out evaluation")
        sequences = [r["chosen_ids"] for r in eval_rows] + [r["rejected_ids"] for r in eval_rows]
        raw = score_token_ids(
            model,
            sequences,
            pad_token_id=tokenizer.pad_token_id,
            batch_size=config.eval_batch_size,
            progress=None if progress is None else lambda f: progress(0.9 + 0.09 * f, "held-out evaluation"),
        )
        scores = raw + reward_bias
        metrics = preference_metrics(scores[: len(eval_rows)], scores[len(eval_rows) :], bins=config.calibration_bins)

    result = RewardTrainResult(
        out_dir=out_dir,
        metrics=metrics,
        loss_history=callback.losses,
        prompts_truncated=prompts_cut + eval_prompts_cut,
        responses_truncated=responses_cut + eval_responses_cut,
        reward_bias=reward_bias,
        data_hash=preferences_hash(train),
        train_tokens=train_tokens,
        train_seconds=train_seconds,
        trainable_parameters=trainable,
        extra={
            "train_pairs": len(train),
            "eval_pairs": len(eval),
            "train_prompts_truncated": prompts_cut,
            "eval_prompts_truncated": eval_prompts_cut,
            "eval_data_hash": preferences_hash(eval) if eval else None,
            "reference_count": len(reference),
            "reference_raw_mean": float(raw_ref.mean()),
            "reference_raw_std": float(raw_ref.std()),
        },
    )
    if is_main:  # under N processes every rank scored the same pairs; one writes
        _save(model, tokenizer, config, result, base_model_dir)
    trainer.accelerator.wait_for_everyone()
    if progress is not None:
        progress(1.0, "saved")
    return result


def _save(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    config: RewardConfig,
    result: RewardTrainResult,
    base_model_dir: Path | str,
) -> None:
    out_dir = result.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / REWARD_CONFIG_FILE).unlink(missing_ok=True)  # a folder without it is never mistaken for complete
    model.config.reward_bias = result.reward_bias
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(out_dir)
    if config.lora.enabled:
        lineage_write(out_dir, base_model_dir=base_model_dir, settings=config.lora)
    summary = {
        "config": dataclasses.asdict(config),
        "base_model_dir": str(base_model_dir),
        **{k: v for k, v in dataclasses.asdict(result).items() if k != "out_dir"},
    }
    summary["metrics"] = _json_safe(summary["metrics"])
    (out_dir / REWARD_CONFIG_FILE).write_text(json.dumps(summary, indent=2, default=float), encoding="utf-8")


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value
