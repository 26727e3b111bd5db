"""KL between two policies on given responses (pure torch, no Django): how far a new policy moved."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from training.models import load_policy
from training.ppo.math import logprobs_from_logits
from training.sampling import format_prompt


def _response_logprob_sums(
    model, tokenizer, prompts: Sequence[str], responses: Sequence[str], template: str
) -> list[float]:
    sums = []
    with torch.no_grad():
        for prompt, response in zip(prompts, responses, strict=True):
            query = tokenizer(format_prompt(tokenizer, prompt, template), add_special_tokens=False).input_ids
            answer = tokenizer(response, add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
            ids = torch.tensor([query + answer], device=model.device)  # (1, T)
            logits = model(input_ids=ids).logits[:, :-1].float()  # (1, T-1, V)
            logprobs = logprobs_from_logits(logits, ids[:, 1:])  # (1, T-1)
            sums.append(float(logprobs[0, len(query) - 1 :].sum()))
    return sums


def sequence_kl(
    *, policy_dir: Path, reference_dir: Path, prompts: Sequence[str], responses: Sequence[str], template: str
) -> float:
    """Monte-Carlo KL(policy || reference): mean of sum_t log pi(y_t) - log pi_ref(y_t) over responses y ~ policy
    (the k1 estimator summed per sequence, as PPO logs it)."""
    if not responses:
        return 0.0
    policy, tokenizer = load_policy(policy_dir)
    mine = _response_logprob_sums(policy.eval(), tokenizer, prompts, responses, template)
    del policy
    reference, ref_tokenizer = load_policy(reference_dir)
    theirs = _response_logprob_sums(reference.eval(), ref_tokenizer, prompts, responses, template)
    return sum(m - t for m, t in zip(mine, theirs, strict=True)) / len(responses)
