"""Best-of-N, the baseline next to PPO: sample N responses per prompt, keep the one the reward model ranks highest."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from training.sampling import GeneratedSample, ProgressFn, SamplingConfig, generate_samples

Scorer = Callable[[list[str], list[str]], list[float]]
"""(prompts, responses) -> one reward per response, e.g. rewards.scoring.reward_model_score for a folder."""


def best_of_n_analytic_kl(n: int) -> float:
    """KL(best-of-n ‖ base policy) = log n − (n − 1)/n in nats (Stiennon et al. 2020, appendix G.3).

    Exact when no two samples of a prompt tie in reward; with ties (repeated responses) it is an upper
    bound (Beirami et al. 2024), which `best_of_n_measured_kl` estimates below.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return math.log(n) - (n - 1) / n


def best_of_n_measured_kl(
    chosen_rewards: Sequence[float], reference_rewards: Sequence[Sequence[float]], n: int
) -> float:
    """Plug-in estimate of KL(best-of-n ‖ base) from the chosen responses' rewards and, per prompt, the rewards
    of M fresh base-policy samples (M reference draws estimate the reward's CDF F under the base policy).

    Best-of-n has density ratio π_n(y)/π(y) = (F(r)^n − F(r⁻)^n) / (F(r) − F(r⁻)) at reward r = r(y), which is
    n·F(r)^(n−1) where r is untied; the estimate is the mean of its log over prompts. An untied F is smoothed
    as (count below + ½)/(M + 1), so it is never 0. Identical responses tie and pull the estimate below the
    analytic value; with continuous rewards it approaches log n − (n − 1)/n as M grows.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if len(chosen_rewards) != len(reference_rewards) or not chosen_rewards:
        raise ValueError("one list of reference rewards per chosen reward, and at least one")
    logs: list[float] = []
    for reward, references in zip(chosen_rewards, reference_rewards, strict=True):
        ref = np.asarray(references, dtype=np.float64)  # (M,)
        if ref.size == 0:
            raise ValueError("every prompt needs reference rewards")
        below = float(np.sum(ref < reward))
        tied = float(np.sum(ref == reward))
        if tied:
            low, high = below / ref.size, (below + tied) / ref.size
            ratio = (high**n - low**n) / (high - low)
        else:
            cdf = (below + 0.5) / (ref.size + 1)
            ratio = n * cdf ** (n - 1)
        logs.append(math.log(ratio))
    return float(np.mean(logs))


@dataclass(frozen=True)
class BestOfNChoice:
    prompt_index: int
    prompt: str
    text: str
    reward: float
    """The reward model's score of the kept response, the highest of the prompt's n."""
    sample_index: int
    """Which of the n samples was kept (0-based, in sampling order)."""
    n: int
    finished_with_eos: bool
    num_tokens: int
    candidate_rewards: list[float] = field(default_factory=list)
    """All n rewards in sampling order."""
    params: dict[str, Any] = field(default_factory=dict)


def best_of_n_choose(samples: Sequence[GeneratedSample], rewards: Sequence[float]) -> list[BestOfNChoice]:
    """Per prompt (in prompt order) the sample with the highest reward; the first of equal rewards wins."""
    if len(samples) != len(rewards):
        raise ValueError(f"{len(samples)} samples but {len(rewards)} rewards")
    groups: dict[int, list[int]] = {}
    for row, sample in enumerate(samples):
        groups.setdefault(sample.prompt_index, []).append(row)
    choices: list[BestOfNChoice] = []
    for prompt_index in sorted(groups):
        rows = sorted(groups[prompt_index], key=lambda row: samples[row].sample_index)
        candidate_rewards = [float(rewards[row]) for row in rows]
        best = rows[int(np.argmax(candidate_rewards))]
        sample = samples[best]
        choices.append(
            BestOfNChoice(
                prompt_index=prompt_index,
                prompt=sample.prompt,
                text=sample.text,
                reward=float(rewards[best]),
                sample_index=sample.sample_index,
                n=len(rows),
                finished_with_eos=sample.finished_with_eos,
                num_tokens=sample.num_tokens,
                candidate_rewards=candidate_rewards,
                params=sample.params,
            )
        )
    return choices


@dataclass(frozen=True)
class BestOfNResult:
    choices: list[BestOfNChoice]
    analytic_kl: float
    measured_kl: float | None
    """None unless reference samples were drawn."""


def best_of_n_generate(
    *,
    policy_dir: Path | str,
    prompts: list[str],
    n: int,
    scorer: Scorer,
    sampling: SamplingConfig,
    kl_reference_samples: int = 0,
    progress: ProgressFn | None = None,
) -> BestOfNResult:
    """Sample n responses per prompt with `sampling` (its samples_per_prompt is replaced by n), score them and keep
    the best. With kl_reference_samples = M > 0, M more samples per prompt (another seed) measure the KL.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if kl_reference_samples < 0:
        raise ValueError("kl_reference_samples must be >= 0")
    share = n / (n + kl_reference_samples)

    def part(start: float, width: float) -> ProgressFn | None:
        return None if progress is None else _progress_share(progress, start, width)

    samples = generate_samples(
        model_dir=policy_dir, prompts=prompts, config=replace(sampling, samples_per_prompt=n), progress=part(0, share)
    )
    rewards = scorer([s.prompt for s in samples], [s.text for s in samples])
    choices = best_of_n_choose(samples, rewards)
    measured = None
    if kl_reference_samples:
        # A disjoint seed range, so the reference draws are independent of the candidates.
        reference_config = replace(
            sampling, samples_per_prompt=kl_reference_samples, seed=sampling.seed + len(prompts) * n + 1
        )
        references = generate_samples(
            model_dir=policy_dir, prompts=prompts, config=reference_config, progress=part(share, 1 - share)
        )
        reference_rewards = scorer([s.prompt for s in references], [s.text for s in references])
        per_prompt: list[list[float]] = [[] for _ in prompts]
        for sample, reward in zip(references, reference_rewards, strict=True):
            per_prompt[sample.prompt_index].append(float(reward))
        measured = best_of_n_measured_kl([c.reward for c in choices], per_prompt, n)
    if progress is not None:
        progress(1.0, f"kept the best of {n} for {len(prompts)} prompts")
    return BestOfNResult(choices=choices, analytic_kl=best_of_n_analytic_kl(n), measured_kl=measured)


def best_of_n_draws(
    *,
    policy_dir: Path | str,
    prompts: list[str],
    n: int,
    scorer: Scorer,
    sampling: SamplingConfig,
    progress: ProgressFn | None = None,
) -> list[GeneratedSample]:
    """Samples of the best-of-n policy over `policy_dir`: `sampling.samples_per_prompt` independent draws per
    prompt, each the highest-ranked of n fresh samples, as GeneratedSample rows (sample_index = the draw) whose
    params carry best_of_n, the kept reward and the analytic KL."""
    draws = sampling.samples_per_prompt
    rows: list[GeneratedSample] = []
    for draw in range(draws):
        report = None if progress is None else _progress_share(progress, draw / draws, 1 / draws)
        # Each draw its own seed range (the n candidates of every prompt take len(prompts) * n seeds).
        config = replace(sampling, seed=sampling.seed + draw * (len(prompts) * n + 1))
        result = best_of_n_generate(
            policy_dir=policy_dir, prompts=prompts, n=n, scorer=scorer, sampling=config, progress=report
        )
        rows += [
            GeneratedSample(
                prompt_index=c.prompt_index, prompt=c.prompt, text=c.text, sample_index=draw,
                finished_with_eos=c.finished_with_eos, num_tokens=c.num_tokens,
                params={**c.params, "best_of_n": n, "reward": c.reward, "analytic_kl": result.analytic_kl},
            )
            for c in result.choices
        ]  # fmt: skip
    return rows


def _progress_share(progress: ProgressFn, start: float, width: float) -> ProgressFn:
    """`progress` for one part of the work: its fractions map to start … start + width."""
    return lambda fraction, message: progress(start + width * fraction, message)


def reward_model_scorer(model_dir: Path | str, *, batch_size: int = 16) -> Scorer:
    """A Scorer backed by a reward-model folder, loaded once (rewards.scoring's normalised rewards)."""
    from rewards.scoring import load_reward_model, score_loaded

    model, tokenizer, saved = load_reward_model(model_dir)

    def score(prompts: list[str], responses: list[str]) -> list[float]:
        return score_loaded(
            model=model, tokenizer=tokenizer, saved=saved, prompts=prompts, responses=responses, batch_size=batch_size
        )

    return score
