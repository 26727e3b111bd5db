"""Policy-optimisation phase: PPO from the initial (or current) policy against the round's reward model."""

from __future__ import annotations

from django.db import transaction

from labeling.models import Policy, PolicyKind
from rounds import ml_bridge
from rounds.models import RoundState
from rounds.phases.base import PhaseRun, phase, prompts_split
from rounds.policies import BEST_OF_N, policy_model
from rounds.services.launch import launch_shape, memory_check, phase_launch

CURVE_KEYS = ("step", "score", "kl", "non_score_reward", "entropy", "response_length", "eos_rate")


@phase(RoundState.POLICY_OPTIMIZATION)
def round_policy_optimize(run: PhaseRun) -> None:
    r, settings = run.training_round, run.settings
    start_policy = policy_model(r.initial_policy if settings.ppo_init == "initial" else r.policy)
    assert r.reward_model is not None, "reward training, the phase before, sets the round's reward model"
    if settings.optimizer == BEST_OF_N:
        _best_of_n_register(run, start_policy)
        return
    training, _ = prompts_split(project=run.project, settings=settings)
    policy_dir = ml_bridge.model_dir(start_policy.artifact_path)
    shape = launch_shape(settings)
    memory_check(settings=settings, folder=policy_dir, artifact=start_policy.artifact_path, phases=("ppo",))
    prompts = ml_bridge.prompts_write(run.folder / "ppo_prompts.jsonl", [p.text for p in training])
    out_dir = run.folder / "ppo"
    # --resume: a rerun (after a crash, a cancel or a lost worker) continues from the run's last checkpoint.
    phase_launch(
        training_round=r, phase=run.phase, folder=run.folder, name="ppo",
        entry=["-m", "training", "ppo", "--policy", str(policy_dir), "--reward-model", r.reward_model.artifact_path,
               "--prompts", str(prompts), "--out", str(out_dir), "--resume"],
        config=ml_bridge.dataclass_dict(settings.ppo), progress=run.progress, shape=shape,
    )  # fmt: skip
    result = ml_bridge.ppo_result_read(out_dir)
    curve = [{k: m.get(k) for k in CURVE_KEYS} for m in result.metrics]
    with transaction.atomic():
        policy, _ = Policy.objects.update_or_create(
            project=run.project, name=f"round-{r.number}-ppo",
            defaults={
                "kind": PolicyKind.TRAINED, "parent": start_policy, "artifact_path": str(result.policy_dir),
                "metadata": {
                    "round": r.id, "reward_model": r.reward_model_id, "previous_policy": r.policy_id,
                    "ppo_config": ml_bridge.dataclass_dict(settings.ppo), "steps": result.steps,
                    "episodes": result.episodes, "final": result.metrics[-1] if result.metrics else {},
                },
            },
        )  # fmt: skip
        run.finish(
            reason=f"PPO ran {result.steps} steps; registered policy {policy.name}",
            updates={"new_policy": policy},
            metrics={"ppo": {"steps": result.steps, "episodes": result.episodes, "curve": curve,
                             "prompts_truncated": result.prompts_truncated}},
        )  # fmt: skip


def _best_of_n_register(run: PhaseRun, base: Policy) -> None:
    """Best-of-n needs no training: register the policy that samples n from `base` and keeps the response the
    round's reward model ranks highest (Stiennon et al. 2020, appendix G.3 for its KL)."""
    r, n = run.training_round, run.settings.best_of_n
    assert r.reward_model is not None
    analytic_kl = ml_bridge.best_of_n_analytic_kl(n)
    with transaction.atomic():
        policy, _ = Policy.objects.update_or_create(
            project=run.project, name=f"round-{r.number}-best-of-{n}",
            defaults={
                "kind": PolicyKind.TRAINED, "parent": base, "artifact_path": base.artifact_path,
                "metadata": {
                    "optimizer": BEST_OF_N, "round": r.id, "base_policy": base.id, "n": n,
                    "reward_model": r.reward_model_id, "reward_model_dir": r.reward_model.artifact_path,
                    "previous_policy": r.policy_id, "analytic_kl": analytic_kl,
                },
            },
        )  # fmt: skip
        run.finish(
            reason=f"best-of-{n} on reward model {r.reward_model.name}; registered policy {policy.name}",
            updates={"new_policy": policy},
            metrics={"best_of_n": {"n": n, "base_policy": base.id, "analytic_kl": analytic_kl}},
        )  # fmt: skip
