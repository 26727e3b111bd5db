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


def forward_flops(parameters: int, tokens: float) -> float:
    return 2.0 * parameters * tokens


def training_flops(parameters: int, tokens: float) -> float:
    return 6.0 * parameters * tokens


def phase_flops(w: Workload) -> dict[str, float]:
    """FLOPs per phase. PPO: the rollout generates and runs four forward passes (policy, reference, value,
    reward); each of ppo_epochs trains policy and value (2 × 6·P·T)."""
    seq = w.prompt_tokens + w.response_tokens
    p = w.parameters
    ppo_rollout = forward_flops(p, w.ppo_episodes * seq) * 5
    ppo_update = 2 * w.ppo_epochs * training_flops(p, w.ppo_episodes * seq)
    return {
        "sampling": forward_flops(p, w.sampled_rows * seq),
        "reward_training": training_flops(p, 2 * w.comparisons * seq * w.rm_epochs),
        "policy_optimization": ppo_rollout + ppo_update,
        # Two policies generate; the reward model scores both; the old policy re-reads the new outputs for KL.
        "evaluation": forward_flops(p, w.eval_rows * seq) * 5,
    }


def workload_summary(w: Workload) -> dict:
    flops = phase_flops(w)
    return {"workload": asdict(w), "flops": flops, "total_flops": sum(flops.values())}


def achieved_flops_per_second(flops: float, seconds: float) -> float | None:
    return flops / seconds if seconds > 0 else None
