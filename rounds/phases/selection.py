"""Uncertainty pair selection for the sampling phase: the previous round's reward model scores the candidate
pairs (`python -m rewards score`, a launched child) and the ones with P(A≻B) nearest 0.5 are queued
(rewards.selection)."""

from __future__ import annotations

import json
from collections.abc import Hashable
from pathlib import Path
from typing import Any, cast

from labeling.models import Prompt, Sample
from rounds.models import RoundState, TrainingRound
from rounds.pair_mix import PlannedPair
from rounds.phases.base import PhaseRun
from rounds.services.launch import phase_launch

NO_REWARD_MODEL = "no reward model yet (first round): random pairs"


def previous_reward_model_dir(*, training_round: TrainingRound) -> Path | None:
    """The reward model of the project's latest finished round before this one, if there is one."""
    earlier = (
        TrainingRound.objects.filter(
            project_id=training_round.project_id, number__lt=training_round.number, state=RoundState.DONE,
            reward_model__isnull=False,
        )
        .select_related("reward_model")
        .order_by("-number")
        .first()
    )  # fmt: skip
    if earlier is None or earlier.reward_model is None:
        return None
    return Path(earlier.reward_model.artifact_path)


def _responses_score_launch(run: PhaseRun, *, reward_model: Path, prompts: list[str], responses: list[str]) -> list:
    """`python -m rewards score` as a child process; the rewards it wrote, one per response."""
    folder = run.folder / "sampling"
    folder.mkdir(parents=True, exist_ok=True)
    data, out = folder / "candidates.jsonl", folder / "candidate-scores.json"
    data.write_text(
        "".join(
            json.dumps({"prompt": p, "response": r}, ensure_ascii=False) + "\n"
            for p, r in zip(prompts, responses, strict=True)
        ),
        encoding="utf-8",
    )
    phase_launch(
        training_round=run.training_round, phase=run.phase, folder=run.folder, name="score-candidates",
        entry=["-m", "rewards", "score", "--model", str(reward_model), "--data", str(data), "--out", str(out)],
        config=None, progress=run.progress.span(0.97, 0.99),
    )  # fmt: skip
    scores = json.loads(out.read_text(encoding="utf-8"))
    if len(scores) != len(responses):
        raise RuntimeError(f"{out}: {len(scores)} rewards for {len(responses)} candidate responses")
    return scores


def pairs_select_uncertain(
    *,
    run: PhaseRun,
    planned: list[tuple[Prompt, PlannedPair]],
    k: int,
) -> tuple[list[tuple[Prompt, PlannedPair]], dict[str, Any]]:
    """(the k queued candidates, what was done): by uncertainty under the previous round's reward model, with
    `uncertainty_explore` of them at random; without a reward model, k random candidates (and says so)."""
    from rewards.selection import preference_probability, select_pairs

    training_round, settings = run.training_round, run.settings
    k = min(k, len(planned))
    folder = previous_reward_model_dir(training_round=training_round)
    seed = settings.seed * 7919 + training_round.number
    info: dict[str, Any] = {"requested": "uncertainty", "candidates": len(planned), "queued": k}
    if folder is None:
        chosen = select_pairs(k, n_candidates=len(planned), strategy="random", seed=seed)
        return [planned[i] for i in chosen], {**info, "strategy": "random", "fallback": NO_REWARD_MODEL}
    ids = {cast(int, sid) for _, plan in planned for sid in (plan.first, plan.second)}
    texts: dict[Hashable, str] = dict(Sample.objects.filter(id__in=ids).values_list("id", "text"))
    prompts = [prompt.text for prompt, _ in planned]
    scores = _responses_score_launch(
        run, reward_model=folder, prompts=prompts + prompts,
        responses=[texts[plan.first] for _, plan in planned] + [texts[plan.second] for _, plan in planned],
    )  # fmt: skip
    scores_a, scores_b = scores[: len(planned)], scores[len(planned) :]
    chosen = select_pairs(
        k, n_candidates=len(planned), scores_a=scores_a, scores_b=scores_b, strategy="uncertainty",
        explore_fraction=settings.uncertainty_explore, seed=seed,
    )  # fmt: skip
    probability = preference_probability(scores_a, scores_b)
    return [planned[i] for i in chosen], {
        **info, "strategy": "uncertainty", "reward_model": str(folder), "explore_fraction": settings.uncertainty_explore,
        "p_a_queued": [round(float(probability[i]), 4) for i in chosen],
        "p_a_candidates": [round(float(p), 4) for p in probability],
    }  # fmt: skip
