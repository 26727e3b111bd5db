"""The one token layout every reward-model input uses: chat-formatted prompt + response + EOS."""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from training.sampling import format_prompt


@dataclass(frozen=True)
class EncodedResponse:
    input_ids: list[int]
    prompt_truncated: bool
    """The prompt lost tokens on the left to fit max_length."""
    response_truncated: bool
    """The response alone was too long and lost tokens on the right (its EOS is kept)."""


def encode_prompt_response(
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    response: str,
    *,
    template: str,
    max_length: int,
) -> EncodedResponse:
    """Token ids of format_prompt(prompt) + response + EOS, at most `max_length` long.

    Prompt and response are tokenized separately, as PPO sees them (prompt ids, then sampled ids).
    Prompts are cut from the left, keeping the assistant header next to the response; a response is
    cut only when it would leave the prompt less than a quarter of the budget.
    """
    if max_length < 8:
        raise ValueError("max_length must be at least 8 tokens")
    # verbose=False: over-long texts are expected here and cut below, so the length warning is noise.
    prompt_ids = tokenizer(format_prompt(tokenizer, prompt, template), add_special_tokens=False, verbose=False)[
        "input_ids"
    ]
    response_ids = tokenizer(response, add_special_tokens=False, verbose=False)["input_ids"]
    response_cap = max_length - 1 - min(len(prompt_ids), max_length // 4)
    response_truncated = len(response_ids) > response_cap
    response_ids = response_ids[:response_cap]
    prompt_budget = max_length - 1 - len(response_ids)
    prompt_truncated = len(prompt_ids) > prompt_budget
    if prompt_truncated:
        prompt_ids = prompt_ids[len(prompt_ids) - prompt_budget :]
    ids = [*prompt_ids, *response_ids, tokenizer.eos_token_id]
    return EncodedResponse(ids, prompt_truncated, response_truncated)
