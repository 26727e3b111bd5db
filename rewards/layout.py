"""The one token layout every policy and reward-model input uses: chat-formatted prompt + response + EOS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from transformers import PreTrainedTokenizerBase

from training.sampling import format_prompt


@dataclass(frozen=True)
class EncodedResponse:
    input_ids: list[int]
    prompt_truncated: bool
    """The prompt text lost tokens on the left to fit max_length (the chat template is always whole)."""
    response_truncated: bool
    """The response alone was too long and lost tokens on the right (its EOS is kept)."""


def _ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    # verbose=False: over-long texts are expected here and cut, so the length warning is noise.
    # One text gives one id list.
    return cast("list[int]", tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def prompt_ids_fit(
    tokenizer: PreTrainedTokenizerBase, text: str, *, template: str, max_tokens: int
) -> tuple[list[int], bool]:
    """Ids of format_prompt(text) in at most `max_tokens`: (ids, text_truncated).

    A long prompt loses the start of its *text*, never the chat scaffolding (system prompt, user and
    assistant headers), so short and long prompts reach the policy and the reward model in one layout.
    """
    ids = _ids(tokenizer, format_prompt(tokenizer, text, template))
    if len(ids) <= max_tokens:
        return ids, False
    scaffold = len(_ids(tokenizer, format_prompt(tokenizer, "", template)))
    if scaffold >= max_tokens:
        raise ValueError(
            f"the chat template and instruction alone take {scaffold} tokens; {max_tokens} leave no room for the prompt"
        )
    text_ids = _ids(tokenizer, text)
    keep = max_tokens - scaffold
    # Decoding a token suffix and re-encoding it inside the template can merge differently: shrink until it fits.
    while keep > 0:
        suffix = cast(str, tokenizer.decode(text_ids[-keep:]))  # one id list decodes to one string
        ids = _ids(tokenizer, format_prompt(tokenizer, suffix, template))
        if len(ids) <= max_tokens:
            return ids, True
        keep -= len(ids) - max_tokens
    return _ids(tokenizer, format_prompt(tokenizer, "", template)), True


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
    Prompt texts are cut from the left inside the template (prompt_ids_fit); a response is cut only
    when it would leave the prompt less than a quarter of the budget.
    """
    if max_length < 8:
        raise ValueError("max_length must be at least 8 tokens")
    prompt_ids = _ids(tokenizer, format_prompt(tokenizer, prompt, template))
    response_ids = _ids(tokenizer, response)
    scaffold = len(_ids(tokenizer, format_prompt(tokenizer, "", template)))
    if scaffold + 2 > max_length:
        raise ValueError(
            f"max_length {max_length} leaves no room for a response after the {scaffold}-token chat template"
        )
    # The prompt keeps a quarter of the budget, and always room for its whole template plus some text.
    response_cap = max_length - 1 - min(len(prompt_ids), max(max_length // 4, scaffold + 1))
    response_truncated = len(response_ids) > response_cap
    response_ids = response_ids[:response_cap]
    prompt_ids, prompt_truncated = prompt_ids_fit(
        tokenizer, prompt, template=template, max_tokens=max_length - 1 - len(response_ids)
    )
    ids = [*prompt_ids, *response_ids, tokenizer.eos_token_id]
    return EncodedResponse(ids, prompt_truncated, response_truncated)
