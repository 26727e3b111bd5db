"""Pure PPO math on tensors: masked statistics, KL estimators, GAE, clipped losses.

Follows "The N+ Implementation Details of RLHF with PPO" (Huang et al. 2024); no models here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of `values` where `mask` is 1, over `dim` (all elements when None)."""
    mask = mask.to(values.dtype)
    if dim is None:
        count = mask.sum()
        if count == 0:
            raise ValueError("masked_mean: the mask selects no element")
        return (values * mask).sum() / count
    return (values * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_var(values: torch.Tensor, mask: torch.Tensor, *, unbiased: bool = True) -> torch.Tensor:
    """Variance of the masked elements (Bessel-corrected when `unbiased`)."""
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask)
    if unbiased:
        count = mask.to(values.dtype).sum()
        if count < 2:
            raise ValueError("masked_var: an unbiased variance needs at least two masked elements")
        variance = variance * count / (count - 1)
    return variance


def masked_whiten(
    values: torch.Tensor, mask: torch.Tensor, *, shift_mean: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """Scale masked elements to unit variance (and zero mean when `shift_mean`); others become 0."""
    mean, variance = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(variance + eps)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask.to(values.dtype)


def logprobs_from_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Log-probability of each label under `logits`: (B, T, V), (B, T) -> (B, T)."""
    logp = F.log_softmax(logits.float(), dim=-1)  # (B, T, V)
    return torch.gather(logp, 2, labels.unsqueeze(-1)).squeeze(-1)  # (B, T)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the categorical distribution at each position: (B, T, V) -> (B, T)."""
    logits = logits.float()
    probs = F.softmax(logits, dim=-1)  # (B, T, V)
    return torch.logsumexp(logits, dim=-1) - (probs * logits).sum(-1)


def kl_estimate(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, *, kind: str = "k1") -> torch.Tensor:
    """Per-token estimate of KL(policy || reference) from sampled-token log-probs.

    k1 = log r, k2 = (log r)^2 / 2, k3 = (r - 1) - log r with r = pi/pi_ref on the sample
    (Schulman, "Approximating KL divergence", 2020).
    """
    log_ratio = logprobs - ref_logprobs
    if kind == "k1":
        return log_ratio
    if kind == "k2":
        return 0.5 * log_ratio**2
    if kind == "k3":
        return torch.expm1(-log_ratio) + log_ratio
    raise ValueError(f"unknown KL estimator {kind!r}; expected 'k1', 'k2' or 'k3'")


def token_rewards(
    *,
    scores: torch.Tensor,
    kl: torch.Tensor,
    mask: torch.Tensor,
    kl_coef: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: -kl_coef * KL everywhere, plus the sequence score on its last token.

    Returns (rewards, non_score_rewards), both (B, T) and zero outside `mask`.
    """
    mask_f = mask.to(kl.dtype)  # (B, T)
    non_score = -kl_coef * kl * mask_f  # (B, T)
    lengths = mask.long().sum(1)  # (B,)
    if (lengths == 0).any():
        raise ValueError("token_rewards: every response needs at least one token")
    rewards = non_score.clone()
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, lengths - 1] += scores.to(rewards.dtype)
    return rewards, non_score


def gae_advantages(
    *,
    values: torch.Tensor,
    rewards: torch.Tensor,
    mask: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016) over right-padded responses.

    values, rewards, mask: (B, T); positions outside `mask` neither bootstrap nor propagate.
    Returns (advantages, returns), both (B, T) and zero outside `mask`.
    """
    mask_f = mask.to(values.dtype)  # (B, T)
    values = values * mask_f
    length = values.shape[1]
    advantages = torch.zeros_like(values)
    last = torch.zeros_like(values[:, 0])  # (B,)
    for t in reversed(range(length)):
        if t + 1 < length:
            next_value, next_mask = values[:, t + 1], mask_f[:, t + 1]
        else:
            next_value, next_mask = torch.zeros_like(last), torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = delta + gamma * lam * next_mask * last
        advantages[:, t] = last
    advantages = advantages * mask_f
    return advantages, (advantages + values) * mask_f


def policy_loss(
    *,
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clipped surrogate objective (Schulman et al. 2017), as a loss to minimise.

    Returns (loss, clip_fraction, approx_kl) where approx_kl = mean((log r)^2) / 2.
    """
    log_ratio = logprobs - old_logprobs  # (B, T)
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    clip_fraction = masked_mean((clipped > unclipped).to(logprobs.dtype), mask)
    approx_kl = 0.5 * masked_mean(log_ratio**2, mask)
    return loss, clip_fraction.detach(), approx_kl.detach()


def value_loss(
    *,
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Clipped squared-error value loss, 0.5 * max((v - R)^2, (v_clip - R)^2); returns (loss, clip_fraction)."""
    clipped_values = old_values + torch.clamp(values - old_values, -clip_range, clip_range)
    unclipped_err = (values - returns) ** 2  # (B, T)
    clipped_err = (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped_err, clipped_err), mask)
    clip_fraction = masked_mean((clipped_err > unclipped_err).to(values.dtype), mask)
    return loss, clip_fraction.detach()


def truncate_after_eos(
    responses: torch.Tensor, *, eos_token_id: int, pad_token_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut each response after its first EOS (kept) and pad the rest.

    responses: (B, T). Returns (truncated (B, T), mask (B, T) covering tokens up to and
    including the first EOS, has_eos (B,)).
    """
    is_eos = responses == eos_token_id  # (B, T)
    has_eos = is_eos.any(1)  # (B,)
    # Index of the first EOS, or T when there is none.
    first = torch.where(has_eos, is_eos.int().argmax(1), torch.full_like(has_eos, responses.shape[1], dtype=torch.long))
    positions = torch.arange(responses.shape[1], device=responses.device).unsqueeze(0)  # (1, T)
    mask = positions <= first.unsqueeze(1)  # (B, T)
    truncated = torch.where(mask, responses, torch.full_like(responses, pad_token_id))
    return truncated, mask, has_eos
