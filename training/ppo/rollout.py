"""Rollout phase of PPO: encode prompts, sample responses, and score them with every model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

import torch
from transformers import (
    AutoModelForSequenceClassification,
    GenerationMixin,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from rewards.layout import prompt_ids_fit
from training.loading import default_dtype, reward_model_info, reward_offset
from training.lora import unwrap
from training.ppo.math import entropy_from_logits, logprobs_from_logits, truncate_after_eos


@runtime_checkable
class Scorer(Protocol):
    """Any callable giving one score per (prompt, response) text pair, e.g. a synthetic reward."""

    def __call__(self, prompts: list[str], responses: list[str]) -> Sequence[float]: ...


@dataclass
class Batch:
    """Prompts and sampled responses as token ids, in the layout chat-template prompt + response + EOS."""

    prompts: list[str]
    queries: torch.Tensor  # (B, P) left-padded prompt ids
    query_mask: torch.Tensor  # (B, P)
    responses: torch.Tensor  # (B, R) right-padded after the first EOS
    response_mask: torch.Tensor  # (B, R) bool, tokens up to and including the first EOS
    has_eos: torch.Tensor  # (B,) bool
    response_texts: list[str]

    def model_inputs(self) -> dict[str, torch.Tensor]:
        input_ids = torch.cat([self.queries, self.responses], 1)  # (B, P + R)
        attention_mask = torch.cat([self.query_mask, self.response_mask.long()], 1)
        # Left padding shifts positions; derive them from the mask as generate() does.
        position_ids = (attention_mask.cumsum(1) - 1).clamp(min=0)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids}


def prompts_encode(
    tokenizer: PreTrainedTokenizerBase, prompts: list[str], *, template: str, max_tokens: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Chat-formatted prompt ids in at most `max_tokens` (texts cut inside the template), left-padded: (ids, mask, n_truncated)."""
    fitted = [prompt_ids_fit(tokenizer, text, template=template, max_tokens=max_tokens) for text in prompts]
    truncated = sum(cut for _, cut in fitted)
    encoded = [ids for ids, _ in fitted]
    width = max(len(ids) for ids in encoded)
    queries = torch.full((len(encoded), width), tokenizer.pad_token_id, dtype=torch.long)  # (B, P)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, ids in enumerate(encoded):
        queries[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        mask[row, width - len(ids) :] = 1
    return queries.to(device), mask.to(device), truncated


def prompt_token_budget(model_config: PretrainedConfig, *, max_prompt_tokens: int, max_new_tokens: int) -> int:
    """Prompt tokens that fit: `max_prompt_tokens`, less if prompt + response would overrun the context."""
    context: int | None = getattr(model_config, "max_position_embeddings", None)
    context = context or getattr(model_config, "n_positions", None)
    if context is None:
        return max_prompt_tokens
    if context <= max_new_tokens:
        raise ValueError(f"max_new_tokens ({max_new_tokens}) leaves no room for a prompt in a {context}-token context")
    return min(max_prompt_tokens, context - max_new_tokens)


@torch.no_grad()
def responses_generate(
    policy: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    *,
    prompts: list[str],
    queries: torch.Tensor,
    query_mask: torch.Tensor,
    temperature: float,
    max_new_tokens: int,
) -> Batch:
    """Sample one response per prompt with pure temperature sampling (no top-k/top-p, so log-probs match)."""
    # A causal LM (possibly inside a peft wrapper, which forwards generate): PreTrainedModel + GenerationMixin.
    out = cast(GenerationMixin, policy).generate(
        input_ids=queries,
        attention_mask=query_mask,
        do_sample=True,
        temperature=temperature,
        top_k=0,
        top_p=1.0,
        max_new_tokens=max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    raw = out[:, queries.shape[1] :]  # (B, R)
    responses, response_mask, has_eos = truncate_after_eos(
        raw, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    texts = tokenizer.batch_decode(responses, skip_special_tokens=True)
    return Batch(prompts, queries, query_mask, responses, response_mask, has_eos, texts)


def response_logits(model: torch.nn.Module, batch: Batch, *, temperature: float) -> torch.Tensor:
    """Temperature-scaled logits predicting each response token: (B, R, V)."""
    # Only the last R + 1 positions need the (vocabulary-wide) output projection.
    length = batch.responses.shape[1]
    logits: torch.Tensor = model(**batch.model_inputs(), logits_to_keep=length + 1).logits  # (B, R + 1, V)
    return logits[:, :-1].float() / temperature


def response_logprobs(model: torch.nn.Module, batch: Batch, *, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-probs (B, R), entropies (B, R)) of the response tokens under `model` at `temperature`."""
    logits = response_logits(model, batch, temperature=temperature)
    return logprobs_from_logits(logits, batch.responses), entropy_from_logits(logits)


def _backbone_and_head(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Linear]:
    # A peft wrapper forwards `model` to the whole inner model, not its backbone.
    inner = cast(PreTrainedModel, unwrap(model))
    backbone = getattr(inner, inner.base_model_prefix, None)
    head = getattr(inner, "score", None)
    if backbone is None or head is None:
        raise ValueError(f"{type(inner).__name__}: expected a sequence-classification model with a `score` head")
    return backbone, head


def token_values(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """Scalar head applied at every position: (B, P + R)."""
    backbone, head = _backbone_and_head(model)
    hidden: torch.Tensor = backbone(**batch.model_inputs()).last_hidden_state  # (B, P + R, H)
    values: torch.Tensor = head(hidden)  # (B, P + R, 1)
    return values.squeeze(-1).float()


def response_values(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """Value of the state before each response token, on the scale of the normalised scores: (B, R)."""
    start = batch.queries.shape[1]
    # A value model initialised from the reward model starts on its raw scale; without the offset every
    # advantage would be shifted by about -bias * lam^(T - t), most at EOS.
    return token_values(model, batch)[:, start - 1 : -1] + reward_offset(model)


def load_scalar_model(model_dir: Path | str, *, device: torch.device, dtype: torch.dtype) -> PreTrainedModel:
    """A sequence-classification model with one output; a causal-LM folder gets a zero-initialised head."""
    model: PreTrainedModel = AutoModelForSequenceClassification.from_pretrained(
        Path(model_dir), num_labels=1, dtype=dtype
    )
    architectures = getattr(model.config, "architectures", None) or []
    if not any(name.endswith("ForSequenceClassification") for name in architectures):
        # A fresh head from a policy folder: start from V = 0 rather than random values.
        _, head = _backbone_and_head(model)
        torch.nn.init.zeros_(head.weight)
        if getattr(head, "bias", None) is not None:
            torch.nn.init.zeros_(head.bias)
    model.to(device)  # type: ignore[arg-type]  # @wraps(Module.to) on PreTrainedModel.to confuses the binding of self
    return model


class RewardModelScorer:
    """Scores the exact sampled tokens (no re-tokenisation) with a frozen reward model."""

    def __init__(
        self, model_dir: Path | str, *, device: torch.device, eos_token_id: int, instruction_template: str | None = None
    ) -> None:
        self.model_dir = Path(model_dir)
        info = reward_model_info(self.model_dir)
        trained_with = info.instruction_template if info is not None else None
        if instruction_template is not None and trained_with is not None and trained_with != instruction_template:
            raise ValueError(
                f"{self.model_dir} was trained with the instruction template {trained_with!r}, not "
                f"{instruction_template!r}; its scores are only meaningful in the layout it was trained on"
            )
        self.model = load_scalar_model(self.model_dir, device=device, dtype=default_dtype(device))
        self.model.eval()  # type: ignore[no-untyped-call]  # transformers leaves eval() unannotated
        self.model.requires_grad_(False)
        # Reward training stores the offset that makes the mean reward on reference outputs 0 (N+ details) in
        # the model's config; the value model, initialised from the same folder, reads it the same way.
        self.bias = reward_offset(self.model)
        # Reward training ends every response with EOS (rewards.layout); a response cut off by the token cap is
        # scored with the policy's EOS appended, so the reward model never reads a layout it was not trained on.
        self.eos_token_id = eos_token_id

    @torch.no_grad()
    def score_batch(self, batch: Batch) -> torch.Tensor:
        """Normalised head output on each sequence's final EOS, where the reward model reads it: (B,)."""
        ended = with_eos_appended(batch, self.eos_token_id)
        values = token_values(self.model, ended)  # (B, P + R + 1)
        last = ended.queries.shape[1] + ended.response_mask.long().sum(1) - 1  # (B,)
        return values[torch.arange(values.shape[0], device=values.device), last] + self.bias


def with_eos_appended(batch: Batch, eos_token_id: int) -> Batch:
    """The batch one column wider, with EOS after the last token of every response that has none."""
    rows = batch.responses.shape[0]
    column = torch.full((rows, 1), eos_token_id, dtype=batch.responses.dtype, device=batch.responses.device)
    # A response without EOS fills every column, so the new column is its end; in other rows it is masked out.
    responses = torch.cat([batch.responses, column], 1)
    mask = torch.cat([batch.response_mask, (~batch.has_eos).unsqueeze(1)], 1)
    return replace(batch, responses=responses, response_mask=mask, has_eos=torch.ones_like(batch.has_eos))


def batch_score(scorer: RewardModelScorer | Scorer, batch: Batch) -> torch.Tensor:
    """Raw scores (B,) from a reward model or a text scorer."""
    if isinstance(scorer, RewardModelScorer):
        return scorer.score_batch(batch).float()
    raw = scorer(list(batch.prompts), list(batch.response_texts))
    scores = torch.as_tensor([float(s) for s in raw], dtype=torch.float32, device=batch.responses.device)
    if scores.shape != (len(batch.prompts),):
        raise ValueError(f"scorer returned {tuple(scores.shape)} scores for {len(batch.prompts)} responses")
    if not torch.isfinite(scores).all():
        raise ValueError("scorer returned a non-finite score")
    return scores


def penalise_missing_eos(scores: torch.Tensor, has_eos: torch.Tensor, penalty: float) -> torch.Tensor:
    """Subtract `penalty` from the scores (B,) of responses without EOS (N+ details)."""
    return scores - penalty * (~has_eos).to(scores.dtype)
