"""The PPO loop: roll out, score, compute advantages, optimise; logs every step and checkpoints."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from transformers import PreTrainedTokenizerBase

from training.distributed import ProcessGroup, masked_whiten_global, process_group
from training.loading import load_tokenizer
from training.ppo.actors import Actors, actors_load, policy_save
from training.ppo.checkpoint import checkpoint_load, checkpoint_save, rng_restore
from training.ppo.config import CONFIG_FILENAME, PPOConfig
from training.ppo.math import (
    gae_advantages,
    kl_estimate,
    masked_mean,
    policy_loss,
    token_rewards,
    value_loss,
)
from training.ppo.rollout import (
    Batch,
    RewardModelScorer,
    Scorer,
    batch_score,
    penalise_missing_eos,
    prompt_token_budget,
    prompts_encode,
    response_logprobs,
    response_values,
    responses_generate,
)

ProgressFn = Callable[[float, str], None]
METRICS_FILENAME = "metrics.jsonl"
PHASES = ("generation", "scoring", "optimisation")


@dataclass
class PPOResult:
    out_dir: Path
    policy_dir: Path
    """Final policy as a Hugging Face model folder (with tokenizer)."""
    config_path: Path
    metrics_path: Path
    steps: int
    episodes: int
    metrics: list[dict[str, Any]] = field(default_factory=list)
    """One record per step (the same lines as metrics.jsonl), resumed steps included."""
    prompts_truncated: int = 0
    """Rollouts in this process whose formatted prompt exceeded max_prompt_tokens."""


@dataclass
class Rollout:
    """A scored batch with everything the optimisation phase needs, detached from any graph."""

    batch: Batch
    scores: torch.Tensor  # (B,) after the missing-EOS penalty
    logprobs: torch.Tensor  # (B, R)
    values: torch.Tensor  # (B, R)
    advantages: torch.Tensor  # (B, R) whitened
    returns: torch.Tensor  # (B, R)
    stats: dict[str, float]


def _fingerprint(
    config: PPOConfig, policy_dir: Path, reward_model_dir: Path | None, prompts: list[str]
) -> dict[str, Any]:
    digest = hashlib.sha256("\x1e".join(prompts).encode("utf-8")).hexdigest()
    return {
        "config": config.to_dict(),
        "policy_dir": str(Path(policy_dir).resolve()),
        "reward_model_dir": str(Path(reward_model_dir).resolve()) if reward_model_dir else None,
        "prompts_sha256": digest,
    }


def _step_prompts(prompts: list[str], step: int, config: PPOConfig) -> list[str]:
    """Prompts of a step: consecutive episodes over per-epoch shuffles, a pure function of (seed, step)."""
    chosen = []
    for episode in range(step * config.batch_size, (step + 1) * config.batch_size):
        epoch, index = divmod(episode, len(prompts))
        order = torch.randperm(len(prompts), generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch))
        chosen.append(prompts[int(order[index])])
    return chosen


@torch.no_grad()
def rollout_collect(
    *,
    config: PPOConfig,
    actors: Actors,
    scorer: RewardModelScorer | Scorer,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    max_prompt_tokens: int,
    timings: dict[str, float],
    group: ProcessGroup,
) -> Rollout:
    """Sample this rank's share of the batch, then score it (rollout_score)."""
    device = next(actors.policy.parameters()).device
    started = time.perf_counter()
    queries, query_mask, truncated = prompts_encode(
        tokenizer, prompts, template=config.instruction_template, max_tokens=max_prompt_tokens, device=device
    )
    batch = responses_generate(
        actors.policy,
        tokenizer,
        prompts=prompts,
        queries=queries,
        query_mask=query_mask,
        temperature=config.temperature,
        max_new_tokens=config.max_new_tokens,
    )
    timings["generation"] += time.perf_counter() - started
    started = time.perf_counter()
    rollout = rollout_score(config=config, actors=actors, scorer=scorer, batch=batch, group=group)
    rollout.stats["prompts_truncated"] = group.mean_floats({"n": truncated}, summed=["n"])["n"]
    timings["scoring"] += time.perf_counter() - started
    return rollout


@torch.no_grad()
def rollout_score(
    *, config: PPOConfig, actors: Actors, scorer: RewardModelScorer | Scorer, batch: Batch, group: ProcessGroup
) -> Rollout:
    """Score sampled responses and turn scores into GAE advantages whitened over the whole batch (N+ details).

    Under N processes each holds its share; whitening and the logged statistics span all of them.
    """
    mask = batch.response_mask  # (B, R)
    logprobs, entropy = response_logprobs(actors.policy, batch, temperature=config.temperature)
    ref_logprobs = actors.reference_logprobs(batch, temperature=config.temperature)
    values = response_values(actors.value_model, batch)  # (B, R)
    raw_scores = batch_score(scorer, batch)  # (B,)
    scores = penalise_missing_eos(raw_scores, batch.has_eos, config.missing_eos_penalty)
    kl = kl_estimate(logprobs, ref_logprobs, kind=config.kl_estimator) * mask  # (B, R)
    rewards, non_score = token_rewards(scores=scores, kl=kl, mask=mask, kl_coef=config.kl_coef)
    if config.whiten_rewards:
        rewards = masked_whiten_global(rewards, mask, group, shift_mean=False)
    advantages, returns = gae_advantages(values=values, rewards=rewards, mask=mask, gamma=config.gamma, lam=config.lam)
    raw_advantage_mean = masked_mean(advantages, mask).item()
    advantages = masked_whiten_global(advantages, mask, group)
    stats = {
        "score": scores.mean().item(),
        "score_raw": raw_scores.mean().item(),
        "kl": kl.sum(1).mean().item(),
        "non_score_reward": non_score.sum(1).mean().item(),
        "rlhf_reward": (scores + non_score.sum(1)).mean().item(),
        "entropy": masked_mean(entropy, mask).item(),
        "response_length": mask.float().sum(1).mean().item(),
        "eos_rate": batch.has_eos.float().mean().item(),
        "value_mean": masked_mean(values, mask).item(),
        "advantage_raw_mean": raw_advantage_mean,
    }
    stats = group.mean_floats(stats)
    stats["prompts_truncated"] = 0
    return Rollout(batch, scores, logprobs, values, advantages, returns, stats)


def _sub_batch(batch: Batch, index: torch.Tensor) -> Batch:
    rows = index.tolist()
    return Batch(
        [batch.prompts[i] for i in rows],
        batch.queries[index],
        batch.query_mask[index],
        batch.responses[index],
        batch.response_mask[index],
        batch.has_eos[index],
        [batch.response_texts[i] for i in rows],
    )


def ppo_update(
    *,
    config: PPOConfig,
    rollout: Rollout,
    actors: Actors,
    optimizer: torch.optim.Optimizer,
    group: ProcessGroup,
) -> dict[str, float]:
    """`ppo_epochs` passes of clipped policy + value updates over shuffled minibatches; returns mean stats.

    Under N processes each rank holds 1/N of every minibatch; its loss is weighted by its share of the
    minibatch's tokens, so the averaged gradients equal those of one process on the whole minibatch.
    """
    sums: dict[str, float] = {}
    count = 0
    size = len(rollout.batch.prompts)
    local_mini = config.mini_batch_size // group.world
    parameters = [p for param_group in optimizer.param_groups for p in param_group["params"]]
    for _ in range(config.ppo_epochs):
        order = torch.randperm(size)
        for start in range(0, size, local_mini):
            index = order[start : start + local_mini].to(rollout.logprobs.device)
            mini = _sub_batch(rollout.batch, index)
            mask = mini.response_mask
            local_tokens = mask.sum().to(torch.float64)
            token_share = local_tokens * group.world / group.all_sum(local_tokens)
            with actors.update_mode():
                new_logprobs, _ = response_logprobs(actors.policy, mini, temperature=config.temperature)
                new_values = response_values(actors.value_model, mini)
                pg_loss, pg_clip, approx_kl = policy_loss(
                    logprobs=new_logprobs,
                    old_logprobs=rollout.logprobs[index],
                    advantages=rollout.advantages[index],
                    mask=mask,
                    clip_range=config.clip_range,
                )
                vf_loss, vf_clip = value_loss(
                    values=new_values,
                    old_values=rollout.values[index],
                    returns=rollout.returns[index],
                    mask=mask,
                    clip_range=config.clip_range_value,
                )
                loss = (pg_loss + config.vf_coef * vf_loss) * token_share.to(pg_loss.dtype)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            group.gradients_average(parameters)
            if config.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(parameters, config.max_grad_norm)
            optimizer.step()
            batch_stats = {
                "policy_loss": pg_loss.item(),
                "value_loss": vf_loss.item(),
                "policy_clip_fraction": pg_clip.item(),
                "value_clip_fraction": vf_clip.item(),
                "approx_kl": approx_kl.item(),
            }
            for key, value in batch_stats.items():
                sums[key] = sums.get(key, 0.0) + value
            count += 1
    return group.mean_floats({key: value / count for key, value in sums.items()})


def _learning_rate(config: PPOConfig, step: int, num_steps: int) -> float:
    if not config.anneal_lr:
        return config.learning_rate
    return config.learning_rate * (1.0 - step / num_steps)


def _metrics_read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _metrics_resume(path: Path, step: int) -> None:
    """Keep the records of the steps a checkpoint covers; later lines came from an interrupted run and are redone."""
    kept = [r for r in _metrics_read(path) if r["step"] <= step]
    path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


def ppo_train(
    *,
    config: PPOConfig,
    policy_dir: Path | str,
    prompts: list[str],
    out_dir: Path | str,
    reward_model_dir: Path | str | None = None,
    scorer: Scorer | None = None,
    progress: ProgressFn | None = None,
    resume: bool = True,
) -> PPOResult:
    """Fine-tune the policy in `policy_dir` with PPO against a reward model (or a text `scorer`).

    The value model starts from the reward model (from the policy with a zero head when a scorer is
    given). `progress(fraction, message)` runs before every step; raising inside it cancels the run,
    which a later call with resume=True continues from the last checkpoint.
    """
    if (reward_model_dir is None) == (scorer is None):
        raise ValueError("pass exactly one of reward_model_dir and scorer")
    if not prompts or any(not isinstance(p, str) or not p.strip() for p in prompts):
        raise ValueError("prompts must be a non-empty list of non-empty strings")
    out_dir, policy_dir = Path(out_dir), Path(policy_dir)
    group = process_group(config.device)
    for name in ("batch_size", "mini_batch_size"):
        if getattr(config, name) % group.world:
            raise ValueError(f"{name} ({getattr(config, name)}) must be a multiple of the {group.world} processes")
    device = group.device
    fingerprint = _fingerprint(config, policy_dir, Path(reward_model_dir) if reward_model_dir else None, prompts)
    checkpoint = checkpoint_load(out_dir) if resume else None
    if checkpoint is not None and checkpoint.fingerprint != fingerprint:
        raise ValueError(
            f"{out_dir} holds a checkpoint of a different run (config, models or prompts differ); "
            "use another output folder or resume=False (--no-resume) to start over"
        )
    # Only the main process writes; the others wait until the run folder is consistent.
    metrics_path = out_dir / METRICS_FILENAME
    config_path = out_dir / CONFIG_FILENAME
    if group.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        config.save(out_dir)
        if checkpoint is None:
            metrics_path.write_text("", encoding="utf-8")
        else:
            _metrics_resume(metrics_path, checkpoint.step)
    group.barrier()
    metrics = _metrics_read(metrics_path) if checkpoint else []
    if checkpoint is None:
        torch.manual_seed(group.seed(config.seed))

    tokenizer = load_tokenizer(policy_dir)
    actors = actors_load(
        config=config,
        policy_dir=policy_dir,
        value_init_dir=Path(reward_model_dir or policy_dir),
        device=device,
        checkpoint_policy=checkpoint.policy_dir if checkpoint else None,
        checkpoint_value=checkpoint.value_dir if checkpoint else None,
    )
    judge: RewardModelScorer | Scorer
    if scorer is not None:
        judge = scorer
    else:  # then reward_model_dir is set: exactly one of the two was checked above
        model_dir = cast("Path | str", reward_model_dir)
        judge = RewardModelScorer(
            model_dir,
            device=device,
            eos_token_id=tokenizer.eos_token_id,
            instruction_template=config.instruction_template,
        )
    optimizer = torch.optim.AdamW(actors.trainable(), lr=config.learning_rate, eps=config.adam_eps)
    start_step = 0
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint.optimizer_state)
        start_step = checkpoint.step
        # After loading: building adapters draws random numbers that the checkpointed stream must not see.
        if not group.distributed:
            rng_restore(checkpoint.rng_state)
        else:  # the checkpoint holds rank 0's RNG only; every rank reseeds from (seed, rank, step)
            torch.manual_seed(group.seed(config.seed) + checkpoint.step)

    num_steps = config.num_steps(len(prompts))
    prompt_budget = prompt_token_budget(
        actors.policy.config, max_prompt_tokens=config.max_prompt_tokens, max_new_tokens=config.max_new_tokens
    )
    truncated = 0
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    for step in range(start_step, num_steps):
        if progress is not None and group.is_main:
            last = metrics[-1] if metrics else None
            message = f"step {step + 1}/{num_steps}" + (
                f" score {last['score']:.3f} kl {last['kl']:.3f}" if last else ""
            )
            progress(step / num_steps, message)
        timings = dict.fromkeys(PHASES, 0.0)
        for param_group in optimizer.param_groups:
            param_group["lr"] = _learning_rate(config, step, num_steps)
        with autocast:
            rollout = rollout_collect(
                config=config,
                actors=actors,
                scorer=judge,
                tokenizer=tokenizer,
                prompts=group.shard(_step_prompts(prompts, step, config)),
                max_prompt_tokens=prompt_budget,
                timings=timings,
                group=group,
            )
            started = time.perf_counter()
            update = ppo_update(config=config, rollout=rollout, actors=actors, optimizer=optimizer, group=group)
            timings["optimisation"] += time.perf_counter() - started
        truncated += int(rollout.stats["prompts_truncated"])
        record = {
            "step": step + 1,
            "episodes": (step + 1) * config.batch_size,
            "lr": optimizer.param_groups[0]["lr"],
            **rollout.stats,
            **update,
            **{f"time_{phase}": seconds for phase, seconds in timings.items()},
            "processes": group.world,
        }
        metrics.append(record)
        if group.is_main:
            with open(metrics_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        if step + 1 == num_steps or (config.save_every and (step + 1) % config.save_every == 0):
            if group.is_main:
                checkpoint_save(
                    out_dir=out_dir,
                    step=step + 1,
                    fingerprint=fingerprint,
                    policy=actors.policy,
                    value_model=actors.value_model,
                    optimizer=optimizer,
                )
            group.barrier()

    policy_out = out_dir / "policy"
    if group.is_main:
        policy_save(actors, policy_out, tokenizer=tokenizer, base_model_dir=policy_dir, config=config)
    group.barrier()
    if progress is not None and group.is_main:
        progress(1.0, f"done: {num_steps} steps")
    return PPOResult(
        out_dir=out_dir,
        policy_dir=policy_out,
        config_path=config_path,
        metrics_path=metrics_path,
        steps=num_steps,
        episodes=num_steps * config.batch_size,
        metrics=metrics,
        prompts_truncated=truncated,
    )
