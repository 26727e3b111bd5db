"""Evaluation phase: the new and the previous policy on held-out prompts, measured by the ML engine's one
policy evaluation (training.ppo.evaluate); new-vs-previous pairs go to labelers for a human win rate."""

from __future__ import annotations

import json
import random
from pathlib import Path

from django.db import transaction

from labeling.models import Policy, Prompt
from labeling.services.pairs import PairRow, pairs_create
from rounds import ml_bridge
from rounds.config import RoundSettings
from rounds.models import RoundState, TrainingRound
from rounds.phases.base import PhaseRun, batch_prompts, phase, prompts_split, sample_store, storable_text
from rounds.policies import policy_best_of_n
from rounds.services.launch import phase_launch

NEW_SEED_OFFSET, PREVIOUS_SEED_OFFSET = 777, 778
SAMPLES_FILE = "evaluation_samples.json"
"""Per held-out prompt: both policies' responses with their reward-model scores, in the round's folder."""


def evaluation_prompts(*, training_round: TrainingRound, settings: RoundSettings) -> list[Prompt]:
    """The held-out prompts; a project too small to hold any out uses four of the round's own."""
    training, heldout = prompts_split(project=training_round.project, settings=settings)
    return heldout or batch_prompts(training=training, settings=settings, number=training_round.number)[:4]


def _evaluate_launch(
    run: PhaseRun,
    *,
    name: str,
    policy: Policy,
    references: list[Path],
    reward_model: Path,
    prompts: Path,
    seed_offset: int,
    progress,
) -> tuple[list, dict[str, float | None]]:
    """`python -m training evaluate` as a child process: one response per prompt of `policy`, scored by the
    round's reward model, with its per-token KL to `references`; for a best-of-n policy (`--best-of-n`) its
    analytic and measured KL instead. Returns (rows, best-of-n figures or {})."""
    best = policy_best_of_n(policy)
    model = ml_bridge.model_dir((best.base if best is not None else policy).artifact_path)
    out = run.folder / "evaluation" / f"{name}.json"
    summary = out.with_suffix(".summary.json")
    ranking = [] if best is None else best.arguments()
    phase_launch(
        training_round=run.training_round, phase=run.phase, folder=run.folder, name=name,
        entry=["-m", "training", "evaluate", "--policy", str(model),
               *[arg for ref in (references if best is None else []) for arg in ("--reference", str(ref))],
               "--reward-model", str(reward_model), "--prompts", str(prompts), "--out", str(out),
               "--summary", str(summary), *ranking],
        config=ml_bridge.evaluation_config(settings=run.settings, seed_offset=seed_offset), progress=progress,
    )  # fmt: skip
    rows = ml_bridge.evaluated_read(out)
    if best is None:
        return rows, {}
    figures = json.loads(summary.read_text(encoding="utf-8"))
    return rows, best.figures(kl_analytic=figures["kl_analytic"], kl_measured=figures["kl_measured"])


def _new_policy_rows(
    run: PhaseRun, *, prompts: Path, initial_dir: Path
) -> tuple[list, float | None, float | None, dict[str, float | None]]:
    """(rows, KL to the previous policy, KL to the initial policy, best-of-n figures) of the round's new policy."""
    r = run.training_round
    assert r.new_policy is not None and r.reward_model is not None
    previous_dir = ml_bridge.model_dir(r.policy.artifact_path)
    references = [previous_dir] if initial_dir == previous_dir else [previous_dir, initial_dir]
    previous_is_best_of_n = policy_best_of_n(r.policy) is not None
    if previous_is_best_of_n:
        references = [initial_dir]  # a best-of-n previous policy has no per-token log-probabilities
    rows, best = _evaluate_launch(
        run, name="evaluate-new", policy=r.new_policy, references=references,
        reward_model=Path(r.reward_model.artifact_path), prompts=prompts, seed_offset=NEW_SEED_OFFSET,
        progress=run.progress.span(0.0, 0.6),
    )  # fmt: skip
    if best:
        kl_base = best["kl_measured"] if best["kl_measured"] is not None else best["kl_analytic"]
        kl_initial = kl_base if best["best_of_n_base"] == r.initial_policy_id else None
        kl_previous = kl_base if best["best_of_n_base"] == r.policy_id else None
        return rows, kl_previous, kl_initial, best
    if previous_is_best_of_n:
        return rows, None, ml_bridge.evaluation_summary(rows)["kl"], best
    kl_previous = ml_bridge.evaluation_summary(rows)["kl"]
    kl_initial = kl_previous if len(references) == 1 else ml_bridge.evaluation_summary(rows, reference=1)["kl"]
    return rows, kl_previous, kl_initial, best


@phase(RoundState.EVALUATION)
def round_evaluate(run: PhaseRun) -> None:
    r, settings = run.training_round, run.settings
    prompts = evaluation_prompts(training_round=r, settings=settings)
    texts = [p.text for p in prompts]
    assert r.new_policy is not None, "policy optimization, the phase before, sets the round's new policy"
    assert r.reward_model is not None, "reward training sets the round's reward model"
    initial_dir = ml_bridge.model_dir(r.initial_policy.artifact_path)
    prompts_path = ml_bridge.prompts_write(run.folder / "evaluation" / "prompts.jsonl", texts)
    new, kl_previous, kl_initial, best = _new_policy_rows(run, prompts=prompts_path, initial_dir=initial_dir)
    previous, _ = _evaluate_launch(
        run, name="evaluate-previous", policy=r.policy, references=[], reward_model=Path(r.reward_model.artifact_path),
        prompts=prompts_path, seed_offset=PREVIOUS_SEED_OFFSET, progress=run.progress.span(0.6, 0.95),
    )  # fmt: skip
    summary_new = ml_bridge.evaluation_summary(new)
    summary_previous = ml_bridge.evaluation_summary(previous)
    samples_path = evaluation_samples_write(folder=run.folder, prompts=prompts, new=new, previous=previous)
    with transaction.atomic():
        rng = random.Random(settings.seed + r.number)
        rows = []
        for prompt, n, o in list(zip(prompts, new, previous, strict=True))[: settings.eval_pairs]:
            if n.text == o.text:
                continue
            a = sample_store(prompt=prompt, policy_id=r.new_policy.id, text=n.text, params=_params(settings, n, r))
            b = sample_store(prompt=prompt, policy_id=r.policy_id, text=o.text, params=_params(settings, o, r))
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            rows.append(PairRow(prompt.id, first.id, second.id, batch=r.eval_batch))
        pairs = len(pairs_create(project=run.project, rows=rows))
        run.finish(
            reason=f"RM score {summary_new['score']:+.3f} vs {summary_previous['score']:+.3f}; KL {_nats(kl_previous)}; "
            f"{pairs} pairs queued for human evaluation",
            metrics={"evaluation": {
                "prompts": len(prompts), "rm_score_new": summary_new["score"],
                "rm_score_previous": summary_previous["score"], "rm_score_raw_new": summary_new["score_raw"],
                "rm_score_raw_previous": summary_previous["score_raw"], "eos_rate_new": summary_new["eos_rate"],
                "eos_rate_previous": summary_previous["eos_rate"], "kl_vs_previous": kl_previous,
                "kl_vs_initial": kl_initial, "human_eval_pairs": pairs, "samples_file": str(samples_path), **best,
            }},
        )  # fmt: skip


def evaluation_samples_write(*, folder: Path, prompts: list[Prompt], new: list, previous: list) -> Path:
    """Write the held-out prompts with the new and the previous policy's response and scores side by side
    (read back by rounds.selectors.round_evaluation_samples). Written whole, then renamed into place."""

    def side(evaluated) -> dict:
        return {"text": storable_text(evaluated.text), "score": evaluated.score, "score_raw": evaluated.score_raw,
                "has_eos": evaluated.has_eos, "num_tokens": evaluated.num_tokens}  # fmt: skip

    rows = [
        {"prompt_id": p.id, "prompt": p.text, "new": side(n), "previous": side(o)}
        for p, n, o in zip(prompts, new, previous, strict=True)
    ]
    path = folder / SAMPLES_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"rows": rows}, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


def _params(settings: RoundSettings, evaluated, training_round: TrainingRound) -> dict:
    return {
        "temperature": settings.ppo.temperature, "max_new_tokens": settings.max_new_tokens, "seed": settings.seed,
        "round": training_round.id, "evaluation": True, "finished_with_eos": evaluated.has_eos,
        "num_tokens": evaluated.num_tokens,
    }  # fmt: skip


def _nats(kl: float | None) -> str:
    return "n/a" if kl is None else f"{kl:.3f}"
