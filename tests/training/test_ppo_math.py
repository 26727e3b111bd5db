"""PPO math against hand-computed values and an independent per-sequence GAE."""

import math

import numpy as np
import pytest
import torch

from training.ppo.math import (
    entropy_from_logits,
    gae_advantages,
    kl_estimate,
    logprobs_from_logits,
    masked_mean,
    masked_var,
    masked_whiten,
    policy_loss,
    token_rewards,
    truncate_after_eos,
    value_loss,
)


def close(actual, expected, tol=1e-6):
    np.testing.assert_allclose(torch.as_tensor(actual).double().numpy(), np.asarray(expected, dtype=float), atol=tol)


def test_masked_mean_and_var_ignore_masked_elements():
    values = torch.tensor([1.0, 2.0, 3.0, 100.0])
    mask = torch.tensor([1, 1, 1, 0])
    close(masked_mean(values, mask), 2.0)
    close(masked_var(values, mask), 1.0)  # (1 + 0 + 1) / (3 - 1)
    close(masked_var(values, mask, unbiased=False), 2.0 / 3.0)


def test_masked_mean_along_dim():
    values = torch.tensor([[1.0, 3.0], [4.0, 8.0]])
    mask = torch.tensor([[1, 1], [1, 0]])
    close(masked_mean(values, mask, dim=1), [2.0, 4.0])


def test_masked_mean_rejects_empty_mask():
    with pytest.raises(ValueError, match="selects no element"):
        masked_mean(torch.ones(3), torch.zeros(3))


def test_masked_whiten_zero_mean_unit_variance_and_zero_outside():
    values = torch.tensor([1.0, 2.0, 3.0, 100.0])
    mask = torch.tensor([1, 1, 1, 0])
    close(masked_whiten(values, mask), [-1.0, 0.0, 1.0, 0.0], tol=1e-6)
    close(masked_whiten(values, mask, shift_mean=False), [1.0, 2.0, 3.0, 0.0], tol=1e-6)


def test_kl_estimators_match_hand_values():
    logprobs, ref = torch.tensor([-1.0]), torch.tensor([-2.0])
    close(kl_estimate(logprobs, ref, kind="k1"), [1.0])
    close(kl_estimate(logprobs, ref, kind="k2"), [0.5])
    close(kl_estimate(logprobs, ref, kind="k3"), [math.exp(-1.0)])  # e^-1 - 1 + 1
    with pytest.raises(ValueError, match="unknown KL estimator"):
        kl_estimate(logprobs, ref, kind="k4")


def test_kl_estimators_are_unbiased_for_sampled_tokens():
    # Under samples from p, E[k1] = E[k3] = KL(p || q); checked against the exact sum.
    generator = torch.Generator().manual_seed(0)
    p = torch.tensor([0.6, 0.3, 0.1])
    q = torch.tensor([0.3, 0.3, 0.4])
    exact = float((p * (p / q).log()).sum())
    samples = torch.multinomial(p, 200_000, replacement=True, generator=generator)
    logp, logq = p.log()[samples], q.log()[samples]
    assert float(kl_estimate(logp, logq, kind="k1").mean()) == pytest.approx(exact, abs=0.01)
    assert float(kl_estimate(logp, logq, kind="k3").mean()) == pytest.approx(exact, abs=0.01)


def test_entropy_from_logits():
    logits = torch.tensor([[[0.0, 0.0], [0.0, math.log(3.0)]]])  # (1, 2, 2)
    expected = [[math.log(2.0), -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))]]
    close(entropy_from_logits(logits), expected)


def test_logprobs_from_logits_gathers_label_logprob():
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0]]])  # (1, 2, 2)
    close(logprobs_from_logits(logits, torch.tensor([[1, 0]])), [[math.log(0.75), math.log(0.5)]])


def test_token_rewards_put_score_on_last_response_token():
    scores = torch.tensor([2.0, 3.0])
    kl = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    rewards, non_score = token_rewards(scores=scores, kl=kl, mask=mask, kl_coef=0.5)
    close(non_score, [[-0.05, -0.1, 0.0], [-0.2, -0.25, -0.3]])
    close(rewards, [[-0.05, 1.9, 0.0], [-0.2, -0.25, 2.7]])


def test_gae_hand_computed_full_mask():
    values = torch.tensor([[1.0, 2.0, 3.0]])
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    advantages, returns = gae_advantages(values=values, rewards=rewards, mask=torch.ones(1, 3), gamma=1.0, lam=0.5)
    # deltas: t2 = 1 - 3 = -2; t1 = 3 - 2 = 1; t0 = 2 - 1 = 1
    close(advantages, [[1.0, 0.0, -2.0]])  # A1 = 1 + 0.5 * -2; A0 = 1 + 0.5 * 0
    close(returns, [[2.0, 2.0, 1.0]])


def test_gae_does_not_bootstrap_from_padding():
    values = torch.tensor([[1.0, 2.0, 99.0]])
    rewards = torch.tensor([[0.0, 1.0, 0.0]])
    mask = torch.tensor([[1, 1, 0]])
    advantages, returns = gae_advantages(values=values, rewards=rewards, mask=mask, gamma=1.0, lam=0.5)
    close(advantages, [[0.5, -1.0, 0.0]])  # A1 = 1 - 2; A0 = (2 - 1) + 0.5 * -1
    close(returns, [[1.5, 1.0, 0.0]])


def _gae_reference(values, rewards, length, gamma, lam):
    """A_t = sum_l (gamma lam)^l delta_{t+l}, written directly from the definition."""
    v = list(values[:length]) + [0.0]
    deltas = [rewards[t] + gamma * v[t + 1] - v[t] for t in range(length)]
    return [sum((gamma * lam) ** (k - t) * deltas[k] for k in range(t, length)) for t in range(length)]


def test_gae_matches_definition_on_random_ragged_batch():
    generator = torch.Generator().manual_seed(1)
    values = torch.randn(4, 7, generator=generator, dtype=torch.float64)
    rewards = torch.randn(4, 7, generator=generator, dtype=torch.float64)
    lengths = [7, 1, 4, 5]
    mask = (torch.arange(7).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).long()
    for gamma, lam in [(1.0, 0.95), (0.9, 0.7), (1.0, 1.0)]:
        advantages, returns = gae_advantages(values=values, rewards=rewards, mask=mask, gamma=gamma, lam=lam)
        for row, length in enumerate(lengths):
            expected = _gae_reference(values[row].tolist(), rewards[row].tolist(), length, gamma, lam)
            close(advantages[row, :length], expected, tol=1e-10)
            close(returns[row, :length], np.array(expected) + values[row, :length].numpy(), tol=1e-10)
            close(advantages[row, length:], np.zeros(7 - length))


def test_policy_loss_hand_computed():
    logprobs = torch.tensor([[math.log(1.5), math.log(0.5)]])
    old = torch.zeros(1, 2)
    advantages = torch.ones(1, 2)
    loss, clip_fraction, approx_kl = policy_loss(
        logprobs=logprobs, old_logprobs=old, advantages=advantages, mask=torch.ones(1, 2), clip_range=0.2
    )
    # ratios 1.5, 0.5 -> max(-1.5, -1.2) = -1.2 (clipped), max(-0.5, -0.8) = -0.5 (unclipped)
    close(loss, -0.85)
    close(clip_fraction, 0.5)
    close(approx_kl, 0.25 * (math.log(1.5) ** 2 + math.log(0.5) ** 2))


def test_policy_loss_gradient_vanishes_only_where_clipped():
    logprobs = torch.tensor([[math.log(1.5), math.log(0.5)]], requires_grad=True)
    loss, _, _ = policy_loss(
        logprobs=logprobs,
        old_logprobs=torch.zeros(1, 2),
        advantages=torch.ones(1, 2),
        mask=torch.ones(1, 2),
        clip_range=0.2,
    )
    loss.backward()
    close(logprobs.grad, [[0.0, -0.25]])  # d(-0.5 * r)/dlogp = -0.5 * 0.5


def test_value_loss_hand_computed():
    loss, clip_fraction = value_loss(
        values=torch.tensor([[1.0, 0.0]]),
        old_values=torch.zeros(1, 2),
        returns=torch.tensor([[2.0, -1.0]]),
        mask=torch.ones(1, 2),
        clip_range=0.2,
    )
    # clipped values 0.2, 0.0 -> errors max(1, 3.24) and max(1, 1)
    close(loss, 0.5 * (3.24 + 1.0) / 2)
    close(clip_fraction, 0.5)


def test_truncate_after_eos_keeps_first_eos_and_pads_rest():
    responses = torch.tensor([[5, 2, 7, 2], [5, 6, 7, 8], [2, 3, 3, 3]])
    truncated, mask, has_eos = truncate_after_eos(responses, eos_token_id=2, pad_token_id=0)
    assert truncated.tolist() == [[5, 2, 0, 0], [5, 6, 7, 8], [2, 0, 0, 0]]
    assert mask.int().tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert has_eos.tolist() == [True, False, True]
