"""Compute estimate of a round before launch and achieved FLOP/s after each phase."""

from __future__ import annotations

from labeling.models import Prompt
from rounds import flops, ml_bridge
from rounds.config import RoundSettings
from rounds.models import TrainingRound
from rounds.policies import BEST_OF_N, policy_best_of_n, policy_model

# A rough rule for English BPE vocabularies; estimates only (the achieved figures use measured tokens where known).
CHARS_PER_TOKEN = 4.0
CHAT_OVERHEAD_TOKENS = 12


def prompt_token_estimate(*, texts: list[str], instruction_template: str) -> float:
    if not texts:
        return 0.0
    wrapper = len(instruction_template.replace("{text}", ""))
    mean_chars = sum(len(t) for t in texts) / len(texts) + wrapper
    return mean_chars / CHARS_PER_TOKEN + CHAT_OVERHEAD_TOKENS


def round_workload(*, training_round: TrainingRound, settings: RoundSettings, parameters: int) -> flops.Workload:
    project = training_round.project
    texts = list(Prompt.objects.filter(project=project).values_list("text", flat=True)[:200])
    n_prompts = Prompt.objects.filter(project=project).count()
    train_prompts = max(n_prompts - settings.heldout_prompts, 1)
    batch = min(settings.num_prompts, train_prompts)
    pairs = batch * settings.pairs_per_prompt
    comparisons = settings.comparisons_target or pairs * project.overlap
    ppo, rm = settings.ppo, settings.reward
    best_of_n = settings.optimizer == BEST_OF_N
    episodes = 0 if best_of_n else ppo.num_steps(train_prompts) * ppo.batch_size
    sampled = policy_best_of_n(training_round.policy)
    return flops.Workload(
        parameters=parameters,
        prompt_tokens=prompt_token_estimate(texts=texts, instruction_template=settings.instruction_template),
        response_tokens=float(settings.max_new_tokens),
        sampled_rows=batch * (settings.samples_per_prompt + 1),
        comparisons=comparisons,
        rm_epochs=rm.num_epochs,
        ppo_episodes=episodes,
        ppo_epochs=ppo.ppo_epochs,
        eval_rows=min(settings.heldout_prompts, n_prompts),
        sampling_best_of_n=sampled.n if sampled is not None else 1,
        new_best_of_n=settings.best_of_n if best_of_n else 1,
    )


def round_compute_estimate(*, training_round: TrainingRound) -> dict:
    """FLOPs per phase, or a note saying why there is no estimate yet (the model is not converted)."""
    settings = ml_bridge.round_settings(training_round)
    artifact = policy_model(training_round.policy).artifact_path  # a best-of-n policy samples its base's model
    folder = ml_bridge.model_dir_if_ready(artifact)
    if folder is None:
        return {"note": f"the model {artifact!r} is not available yet; estimated at sampling"}
    parameters = ml_bridge.parameter_count(folder)
    workload = round_workload(training_round=training_round, settings=settings, parameters=parameters)
    return flops.workload_summary(workload)


def phase_achieved(*, estimate: dict, phase: str, seconds: float, measured_flops: float | None = None) -> dict:
    """Achieved FLOP/s of a phase: measured FLOPs when the engine reports tokens, else the estimate's."""
    value = measured_flops if measured_flops is not None else (estimate.get("flops") or {}).get(phase)
    if value is None:
        return {"seconds": seconds}
    return {
        "seconds": seconds,
        "flops": value,
        "flops_per_second": flops.achieved_flops_per_second(value, seconds),
        "measured": measured_flops is not None,
    }
