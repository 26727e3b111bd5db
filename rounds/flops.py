"""Compute estimates for a round's phases: 6·P·tokens for training, 2·P·tokens forward-only (Kaplan et al. 2020)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Workload:
    parameters: int
    prompt_tokens: float
    """Mean tokens of a formatted prompt."""
    response_tokens: float
    """Mean (or capped) tokens of a response."""
    sampled_rows: int
    """Responses generated in the sampling phase."""
    comparisons: int
    """Preference pairs the reward model trains on."""
    rm_epochs: float
    ppo_episodes: int
    ppo_epochs: int
    eval_rows: int
    """Held-out responses generated per policy at evaluation."""
    sampling_best_of_n: int = 1
    """n when the round samples a best-of-n policy (each of its samples is the best of n), else 1."""
    new_best_of_n: int = 1
    """n when the round's optimizer is best-of-n (no training; the new policy is best-of-n), else 1."""


def forward_flops(parameters: int, tokens: float) -> float:
    return 2.0 * parameters * tokens


def training_flops(parameters: int, tokens: float) -> float:
    return 6.0 * parameters * tokens


def best_of_n_passes(n: int) -> float:
    """Forward passes per kept response of a best-of-n policy: n candidates generated and n scored."""
    return 1.0 if n == 1 else 2.0 * n


def phase_flops(w: Workload) -> dict[str, float]:
    """FLOPs per phase. PPO: the rollout generates and runs four forward passes (policy, reference, value,
    reward); each of ppo_epochs trains policy and value (2 × 6·P·T). A best-of-n optimizer trains nothing; its
    policy's responses cost n generations and n scorings each, and its evaluation draws n more per row for the
    measured KL. Sampled rows of a best-of-n policy are counted at its rate (the initial policy's too)."""
    seq = w.prompt_tokens + w.response_tokens
    p = w.parameters
    ppo_rollout = forward_flops(p, w.ppo_episodes * seq) * 5
    ppo_update = 2 * w.ppo_epochs * training_flops(p, w.ppo_episodes * seq)
    if w.new_best_of_n == 1:
        # Two policies generate; the reward model scores both; the old policy re-reads the new outputs for KL.
        evaluation = forward_flops(p, w.eval_rows * seq) * 5
    else:
        # The new policy: candidates and as many KL samples, all scored; the old policy generates, is scored.
        evaluation = forward_flops(p, w.eval_rows * seq) * (2 * best_of_n_passes(w.new_best_of_n) + 2)
    return {
        "sampling": forward_flops(p, w.sampled_rows * seq) * best_of_n_passes(w.sampling_best_of_n),
        "reward_training": training_flops(p, 2 * w.comparisons * seq * w.rm_epochs),
        "policy_optimization": ppo_rollout + ppo_update if w.new_best_of_n == 1 else 0.0,
        "evaluation": evaluation,
    }


def workload_summary(w: Workload) -> dict:
    flops = phase_flops(w)
    return {"workload": asdict(w), "flops": flops, "total_flops": sum(flops.values())}


def achieved_flops_per_second(flops: float, seconds: float) -> float | None:
    return flops / seconds if seconds > 0 else None
