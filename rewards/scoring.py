"""Scoring with a trained reward model: batched forward passes in the shared token layout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, PreTrainedModel, PreTrainedTokenizerBase

from rewards.data import PreferenceExample
from rewards.layout import encode_prompt_response
from rewards.metrics import preference_metrics
from training.loading import (
    REWARD_CONFIG_FILE,
    RewardModelInfo,
    default_dtype,
    load_tokenizer,
    pick_device,
    reward_model_info,
    reward_offset,
)


def score_token_ids(
    model: PreTrainedModel,
    sequences: list[list[int]],
    *,
    pad_token_id: int,
    batch_size: int = 16,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Raw head outputs (no normalisation) for token sequences, batched by length to limit padding.

    `progress(fraction)` is called before every batch; an exception it raises stops scoring.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    scores = np.empty(len(sequences), dtype=np.float64)
    was_training = model.training
    model.eval()  # type: ignore[no-untyped-call]  # transformers leaves eval() unannotated
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            if progress is not None:
                progress(start / len(order))
            chunk = order[start : start + batch_size]
            width = max(len(sequences[i]) for i in chunk)
            ids = torch.full((len(chunk), width), pad_token_id, dtype=torch.long)  # (B, T) right-padded
            mask = torch.zeros((len(chunk), width), dtype=torch.long)  # (B, T)
            for row, i in enumerate(chunk):
                ids[row, : len(sequences[i])] = torch.tensor(sequences[i])
                mask[row, : len(sequences[i])] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits  # (B, 1)
            scores[chunk] = logits[:, 0].float().cpu().numpy()
    model.train(was_training)
    return scores


def read_reward_model_info(model_dir: Path | str) -> RewardModelInfo:
    """The folder's reward-model metadata; FileNotFoundError for a folder reward training did not write."""
    info = reward_model_info(model_dir)
    if info is None:
        raise FileNotFoundError(f"{model_dir} is not a reward model folder (no {REWARD_CONFIG_FILE})")
    return info


def load_reward_model(
    model_dir: Path | str, *, device: torch.device | str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, RewardModelInfo]:
    """(model, tokenizer, saved metadata) of a folder written by reward_model_train."""
    saved = read_reward_model_info(model_dir)
    device = torch.device(device) if device is not None else pick_device()
    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(Path(model_dir), dtype=default_dtype(device))
    return model.to(device).eval(), tokenizer, saved


def encode_pairs(
    tokenizer: PreTrainedTokenizerBase, prompts: list[str], responses: list[str], *, template: str, max_length: int
) -> list[list[int]]:
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    return [
        encode_prompt_response(tokenizer, p, r, template=template, max_length=max_length).input_ids
        for p, r in zip(prompts, responses, strict=True)
    ]


def reward_model_score(
    *,
    model_dir: Path | str,
    prompts: list[str],
    responses: list[str],
    batch_size: int = 16,
    device: torch.device | str | None = None,
) -> list[float]:
    """Normalised rewards (0 = mean on the reference outputs) of responses to raw prompt texts."""
    model, tokenizer, saved = load_reward_model(model_dir, device=device)
    return score_loaded(
        model=model, tokenizer=tokenizer, saved=saved, prompts=prompts, responses=responses, batch_size=batch_size
    )


def score_loaded(
    *,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    saved: RewardModelInfo,
    prompts: list[str],
    responses: list[str],
    batch_size: int = 16,
) -> list[float]:
    """reward_model_score for a model already returned by load_reward_model (e.g. once per PPO run)."""
    sequences = encode_pairs(
        tokenizer, prompts, responses, template=saved.instruction_template, max_length=saved.max_length
    )
    raw = score_token_ids(model, sequences, pad_token_id=tokenizer.pad_token_id, batch_size=batch_size)
    return cast("list[float]", (raw + reward_offset(model)).tolist())  # a 1-D float array


def reward_model_evaluate(
    *, model_dir: Path | str, examples: list[PreferenceExample], batch_size: int = 16
) -> dict[str, Any]:
    """Held-out pairwise accuracy with a Wilson 95% CI, reward mean/std and calibration."""
    if not examples:
        raise ValueError("no examples to evaluate")
    prompts = [e.prompt for e in examples]
    scores = reward_model_score(
        model_dir=model_dir,
        prompts=prompts + prompts,
        responses=[e.chosen for e in examples] + [e.rejected for e in examples],
        batch_size=batch_size,
    )
    n = len(examples)
    return preference_metrics(np.array(scores[:n]), np.array(scores[n:]))
