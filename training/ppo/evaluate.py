"""Held-out evaluation of a policy, the one definition every caller uses (PPO demo, training rounds):
responses sampled as PPO samples them, scored on their exact tokens with PPO's missing-EOS penalty, and
their KL to reference policies."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, PreTrainedModel

from training.defaults import DEFAULT_INSTRUCTION_TEMPLATE, DEFAULT_MAX_NEW_TOKENS
from training.loading import default_dtype, load_tokenizer, pick_device
from training.ppo.config import EvaluationConfig
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

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class EvaluatedResponse:
    """One sampled response and what the evaluation measured on it."""

    prompt: str
    text: str
    """Decoded response without its EOS."""
    score: float
    """Reward-model score minus the missing-EOS penalty, as PPO is trained on."""
    score_raw: float
    """The reward model's own (normalised) output."""
    kl: tuple[float, ...]
    """Summed per-token k1 estimate of KL(policy || reference), one per reference, in the order given."""
    num_tokens: int
    """Response tokens, EOS included."""
    has_eos: bool


@torch.no_grad()
def responses_evaluate(
    *,
    policy_dir: Path | str,
    reference_dirs: Sequence[Path | str],
    prompts: list[str],
    reward_model_dir: Path | str | None = None,
    scorer: Scorer | None = None,
    temperature: float = 0.7,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    batch_size: int = 8,
    seed: int = 0,
    missing_eos_penalty: float = 1.0,
    instruction_template: str = DEFAULT_INSTRUCTION_TEMPLATE,
    max_prompt_tokens: int = 512,
    device: str | None = None,
    progress: ProgressFn | None = None,
) -> list[EvaluatedResponse]:
    """Sample one response per prompt (pure temperature sampling, as PPO) and measure each.

    `progress(fraction, message)` is called before every batch; an exception it raises stops the evaluation.
    """
    if (reward_model_dir is None) == (scorer is None):
        raise ValueError("pass exactly one of reward_model_dir and scorer")
    if not prompts:
        raise ValueError("prompts must not be empty")
    if temperature <= 0 or batch_size < 1 or max_new_tokens < 1:
        raise ValueError("temperature must be > 0, batch_size and max_new_tokens >= 1")
    torch_device = torch.device(device) if device else pick_device()
    dtype = default_dtype(torch_device)

    def load(folder: Path | str) -> PreTrainedModel:
        model = AutoModelForCausalLM.from_pretrained(Path(folder), dtype=dtype)
        model.to(torch_device)  # type: ignore[arg-type]  # @wraps(Module.to) on PreTrainedModel.to confuses the binding of self
        model.eval()  # type: ignore[no-untyped-call]  # transformers leaves eval() unannotated
        return model

    tokenizer = load_tokenizer(policy_dir)
    policy = load(policy_dir)
    references = [load(folder) for folder in reference_dirs]
    judge: RewardModelScorer | Scorer
    if scorer is not None:
        judge = scorer
    elif reward_model_dir is not None:
        judge = RewardModelScorer(
            reward_model_dir,
            device=torch_device,
            eos_token_id=tokenizer.eos_token_id,
            instruction_template=instruction_template,
        )
    prompt_budget = prompt_token_budget(
        policy.config, max_prompt_tokens=max_prompt_tokens, max_new_tokens=max_new_tokens
    )
    rows: list[EvaluatedResponse] = []
    with torch.random.fork_rng(devices=[torch_device] if torch_device.type == "cuda" else []):
        torch.manual_seed(seed)
        for start in range(0, len(prompts), batch_size):
            if progress is not None:
                progress(start / len(prompts), f"evaluating {start}/{len(prompts)}")
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
            logprobs, _ = response_logprobs(policy, batch, temperature=temperature)  # (B, R)
            kls = []
            for reference in references:
                ref_logprobs, _ = response_logprobs(reference, batch, temperature=temperature)  # (B, R)
                kls.append((kl_estimate(logprobs, ref_logprobs, kind="k1") * batch.response_mask).sum(1))  # (B,)
            raw = batch_score(judge, batch)  # (B,)
            scores = penalise_missing_eos(raw, batch.has_eos, missing_eos_penalty)  # (B,)
            lengths = batch.response_mask.long().sum(1)  # (B,)
            for i, prompt in enumerate(chunk):
                rows.append(
                    EvaluatedResponse(
                        prompt=prompt,
                        text=batch.response_texts[i],
                        score=float(scores[i]),
                        score_raw=float(raw[i]),
                        kl=tuple(float(kl[i]) for kl in kls),
                        num_tokens=int(lengths[i]),
                        has_eos=bool(batch.has_eos[i]),
                    )
                )
    if progress is not None:
        progress(1.0, f"evaluated {len(prompts)}")
    return rows


def evaluation_summary(rows: Sequence[EvaluatedResponse], *, reference: int = 0) -> dict[str, Any]:
    """Means over the responses: score (with its standard error), raw score, KL to reference number
    `reference` (None without references), response length and EOS rate."""
    if not rows:
        raise ValueError("no evaluated responses")
    n = len(rows)
    score = torch.tensor([r.score for r in rows], dtype=torch.float64)
    has_kl = all(len(r.kl) > reference for r in rows)
    return {
        "n": n,
        "score": score.mean().item(),
        "score_sem": (score.std() / n**0.5).item() if n > 1 else math.nan,
        "score_raw": sum(r.score_raw for r in rows) / n,
        "kl": sum(r.kl[reference] for r in rows) / n if has_kl else None,
        "response_length": sum(r.num_tokens for r in rows) / n,
        "eos_rate": sum(r.has_eos for r in rows) / n,
    }


def policy_evaluate(
    *, policy_dir: Path | str, reference_dir: Path | str, prompts: list[str], **options: Any
) -> dict[str, Any]:
    """Score and KL(policy || reference) statistics of one response per prompt (see responses_evaluate).

    `kl` is the mean over responses of the summed per-token k1 estimate, as PPO logs it; `score` uses
    the same missing-EOS penalty as training, `score_raw` the reward model's own output.
    """
    rows = responses_evaluate(policy_dir=policy_dir, reference_dirs=[reference_dir], prompts=prompts, **options)
    return evaluation_summary(rows)


@dataclass(frozen=True)
class BestOfNEvaluation:
    rows: list[EvaluatedResponse]
    """One response per prompt; `kl` is empty (best-of-n has no per-token log-probabilities)."""
    analytic_kl: float
    """log n − (n−1)/n, its KL to the base policy."""
    measured_kl: float | None
    """The same KL measured from n more base-policy samples per prompt."""


def best_of_n_evaluate(
    *,
    policy_dir: Path | str,
    ranking_model_dir: Path | str,
    reward_model_dir: Path | str,
    n: int,
    prompts: list[str],
    config: EvaluationConfig,
    progress: ProgressFn | None = None,
) -> BestOfNEvaluation:
    """One response per prompt from the best-of-n policy over `policy_dir` (the best of n by `ranking_model_dir`),
    scored by `reward_model_dir` minus the missing-EOS penalty, as `responses_evaluate` scores a model policy.
    It samples with the config's temperature, length, batch size, seed and template, through the sampler (which
    formats prompts and picks the device itself: `max_prompt_tokens` and `device` are not used)."""
    from training.best_of_n import best_of_n_generate, reward_model_scorer
    from training.sampling import SamplingConfig

    sampling = SamplingConfig(
        temperature=config.temperature, max_new_tokens=config.max_new_tokens, batch_size=config.batch_size,
        seed=config.seed, samples_per_prompt=n, instruction_template=config.instruction_template,
    )  # fmt: skip
    result = best_of_n_generate(
        policy_dir=policy_dir, prompts=prompts, n=n, scorer=reward_model_scorer(ranking_model_dir), sampling=sampling,
        kl_reference_samples=n, progress=progress,
    )  # fmt: skip
    raw = [c.reward for c in result.choices]
    if Path(ranking_model_dir) != Path(reward_model_dir):
        raw = reward_model_scorer(reward_model_dir)(
            [c.prompt for c in result.choices], [c.text for c in result.choices]
        )
    has_eos = torch.tensor([c.finished_with_eos for c in result.choices])
    scores = penalise_missing_eos(torch.tensor(raw, dtype=torch.float64), has_eos, config.missing_eos_penalty)
    rows = [
        EvaluatedResponse(
            prompt=c.prompt, text=c.text, score=float(score), score_raw=float(raw_score), kl=(),
            num_tokens=c.num_tokens, has_eos=c.finished_with_eos,
        )
        for c, score, raw_score in zip(result.choices, scores, raw, strict=True)
    ]  # fmt: skip
    return BestOfNEvaluation(rows=rows, analytic_kl=result.analytic_kl, measured_kl=result.measured_kl)
