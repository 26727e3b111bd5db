"""Batched, seeded sampling from a policy through its chat template, recording the parameters used."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from transformers import GenerationMixin, PreTrainedModel, PreTrainedTokenizerBase

from training.defaults import DEFAULT_INSTRUCTION_TEMPLATE, DEFAULT_MAX_NEW_TOKENS
from training.loading import load_policy

ProgressFn = Callable[[float, str], None]


@dataclass
class SamplingConfig:
    temperature: float = 0.7
    """Softmax temperature; 0 means greedy decoding. 0.7 follows Huang et al. 2024 (N+ details)."""
    top_p: float = 1.0
    """Nucleus sampling mass; 1.0 disables it."""
    top_k: int = 0
    """Keep only the k most likely tokens; 0 disables it."""
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    """Hard cap on response length in tokens (EOS included)."""
    batch_size: int = 8
    """Prompts (times samples_per_prompt rows) generated per forward batch."""
    seed: int = 0
    """Base seed; each batch reseeds torch with seed + its first row index, so reruns reproduce exactly."""
    samples_per_prompt: int = 1
    """Independent samples drawn for every prompt."""
    instruction_template: str = DEFAULT_INSTRUCTION_TEMPLATE
    """User message; `{text}` is replaced by the prompt text."""

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0")
        if self.max_new_tokens < 1 or self.batch_size < 1 or self.samples_per_prompt < 1:
            raise ValueError("max_new_tokens, batch_size and samples_per_prompt must be >= 1")
        if "{text}" not in self.instruction_template:
            raise ValueError("instruction_template must contain the placeholder {text}")


@dataclass
class GeneratedSample:
    prompt_index: int
    prompt: str
    text: str
    sample_index: int
    finished_with_eos: bool
    num_tokens: int
    params: dict[str, Any] = field(default_factory=dict)


def format_prompt(tokenizer: PreTrainedTokenizerBase, text: str, template: str = DEFAULT_INSTRUCTION_TEMPLATE) -> str:
    """The prompt string as the policy sees it: instruction as a user turn, then the assistant header.

    Reward model and PPO build their inputs from this too, so the token layout is identical everywhere:
    format_prompt(...) + response + EOS.
    """
    messages = [{"role": "user", "content": template.replace("{text}", text)}]
    # tokenize=False: one conversation gives one string
    return cast(str, tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def model_version(model_dir: Path | str) -> str:
    """A short content hash of the weights, so samples name the exact policy that produced them."""
    digest = hashlib.sha256()
    for weights in sorted(Path(model_dir).glob("*.safetensors")):
        with open(weights, "rb") as fh:
            # Header + first MiB identify a checkpoint without reading gigabytes.
            digest.update(fh.read(1 << 20))
        digest.update(str(weights.stat().st_size).encode())
    return digest.hexdigest()[:16]


def _sampling_kwargs(config: SamplingConfig) -> dict[str, Any]:
    if config.temperature == 0:
        return {"do_sample": False}
    return {
        "do_sample": True,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "top_k": config.top_k if config.top_k > 0 else None,
    }


def generate_samples(
    *,
    model_dir: Path | str,
    prompts: list[str],
    config: SamplingConfig,
    progress: ProgressFn | None = None,
    device: torch.device | str | None = None,
) -> list[GeneratedSample]:
    """Sample `config.samples_per_prompt` responses for every prompt, in prompt order."""
    model, tokenizer = load_policy(model_dir, device=device)
    params = {"model_dir": str(model_dir), "model_version": model_version(model_dir)}
    return generate_with_policy(
        model=model, tokenizer=tokenizer, prompts=prompts, config=config, params=params, progress=progress
    )


def generate_with_policy(
    *,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    config: SamplingConfig,
    params: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> list[GeneratedSample]:
    """generate_samples for an already loaded policy; `params` (e.g. its version) go into every sample."""
    model.eval()  # type: ignore[no-untyped-call]  # transformers leaves eval() unannotated
    params = {**dataclasses.asdict(config), **(params or {})}
    rows = [(i, s) for i in range(len(prompts)) for s in range(config.samples_per_prompt)]
    samples: list[GeneratedSample] = []
    for start in range(0, len(rows), config.batch_size):
        if progress is not None:
            progress(start / max(len(rows), 1), f"sampling {start}/{len(rows)}")
        batch = rows[start : start + config.batch_size]
        texts = [format_prompt(tokenizer, prompts[i], config.instruction_template) for i, _ in batch]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        torch.manual_seed(config.seed + start)
        with torch.no_grad():
            out = cast(GenerationMixin, model).generate(  # a causal LM: PreTrainedModel + GenerationMixin
                **enc,  # input_ids (B, P) left-padded
                max_new_tokens=config.max_new_tokens,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
                **_sampling_kwargs(config),
            )
        responses = out[:, enc["input_ids"].shape[1] :].cpu()  # (B, R)
        for (prompt_index, sample_index), tokens in zip(batch, responses, strict=True):
            samples.append(_decode_sample(tokenizer, prompt_index, prompts[prompt_index], sample_index, tokens, params))
    if progress is not None:
        progress(1.0, f"sampled {len(rows)}")
    return samples


def _decode_sample(
    tokenizer: PreTrainedTokenizerBase,
    prompt_index: int,
    prompt: str,
    sample_index: int,
    tokens: torch.Tensor,
    params: dict[str, Any],
) -> GeneratedSample:
    # generate() pads finished rows with pad tokens; everything after the first EOS is not the response.
    eos_positions = (tokens == tokenizer.eos_token_id).nonzero()
    finished = len(eos_positions) > 0
    length = int(eos_positions[0]) + 1 if finished else int((tokens != tokenizer.pad_token_id).sum())
    # One id sequence decodes to one string.
    text = cast(str, tokenizer.decode(tokens[: length - 1 if finished else length], skip_special_tokens=True))
    return GeneratedSample(
        prompt_index=prompt_index,
        prompt=prompt,
        text=text,
        sample_index=sample_index,
        finished_with_eos=finished,
        num_tokens=length,
        params=params,
    )
