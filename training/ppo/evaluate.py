"""Held-out evaluation of a policy: mean reward-model score and KL to a reference policy."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from training.models import default_dtype, load_tokenizer, pick_device
from training.ppo.math import kl_estimate
from training.ppo.rollout import (
    RewardModelScorer,
    Scorer,
    batch_score,
    penalise_missing_eos,
    prompt_token_budget,
    prompts_encode,
    response_logprobs,
    responses_generate,
)
from training.sampling import DEFAULT_INSTRUCTION_TEMPLATE


@torch.no_grad()
def policy_evaluate(
    *,
    policy_dir: Path | str,
    reference_dir: Path | str,
    prompts: list[str],
    reward_model_dir: Path | str | None = None,
    scorer: Scorer | None = None,
    temperature: float = 0.7,
    max_new_tokens: int = 53,
    batch_size: int = 8,
    seed: int = 0,
    missing_eos_penalty: float = 1.0,
    instruction_template: str = DEFAULT_INSTRUCTION_TEMPLATE,
    max_prompt_tokens: int = 512,
    device: str | None = None,
) -> dict:
    """Sample one response per prompt and report score and KL(policy || reference) statistics.

    `kl` is the mean over responses of the summed per-token k1 estimate, as PPO logs it; `score` uses
    the same missing-EOS penalty as training, `score_raw` the reward model's own output.
    """
    if (reward_model_dir is None) == (scorer is None):
        raise ValueError("pass exactly one of reward_model_dir and scorer")
    if not prompts:
        raise ValueError("prompts must not be empty")
    if temperature <= 0 or batch_size < 1 or max_new_tokens < 1:
        raise ValueError("temperature must be > 0, batch_size and max_new_tokens >= 1")
    torch_device = torch.device(device) if device else pick_device()
    dtype = default_dtype(torch_device)
    tokenizer = load_tokenizer(policy_dir)
    policy = AutoModelForCausalLM.from_pretrained(Path(policy_dir), dtype=dtype).to(torch_device).eval()
    reference = AutoModelForCausalLM.from_pretrained(Path(reference_dir), dtype=dtype).to(torch_device).eval()
    if scorer is None:
        scorer = RewardModelScorer(reward_model_dir, device=torch_device, instruction_template=instruction_template)
    prompt_budget = prompt_token_budget(
        policy.config, max_prompt_tokens=max_prompt_tokens, max_new_tokens=max_new_tokens
    )
    scores, raw_scores, kls, lengths, has_eos = [], [], [], [], []
    with torch.random.fork_rng(devices=[torch_device] if torch_device.type == "cuda" else []):
        torch.manual_seed(seed)
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start : start + batch_size]
            queries, query_mask, _ = prompts_encode(
                tokenizer, chunk, template=instruction_template, max_tokens=prompt_budget, device=torch_device
            )
            batch = responses_generate(
                policy,
                tokenizer,
                prompts=chunk,
                queries=queries,
                query_mask=query_mask,
                temperature=temperature,
                max_new_tokens=max_new_tokens,
            )
            logprobs, _ = response_logprobs(policy, batch, temperature=temperature)
            ref_logprobs, _ = response_logprobs(reference, batch, temperature=temperature)
            kl = kl_estimate(logprobs, ref_logprobs, kind="k1") * batch.response_mask  # (B, R)
            raw = batch_score(scorer, batch)
            raw_scores.append(raw)
            scores.append(penalise_missing_eos(raw, batch.has_eos, missing_eos_penalty))
            kls.append(kl.sum(1))
            lengths.append(batch.response_mask.float().sum(1))
            has_eos.append(batch.has_eos.float())
    score, kl = torch.cat(scores), torch.cat(kls)
    n = len(score)
    return {
        "n": n,
        "score": score.mean().item(),
        "score_sem": (score.std() / n**0.5).item() if n > 1 else float("nan"),
        "score_raw": torch.cat(raw_scores).mean().item(),
        "kl": kl.mean().item(),
        "response_length": torch.cat(lengths).mean().item(),
        "eos_rate": torch.cat(has_eos).mean().item(),
    }
