"""Sampling phase: current (and initial) policy samples for the round's prompts, paired by the pair mix."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, cast

from django.db import transaction

from labeling.models import PolicyKind, Prompt, Sample
from labeling.services.pairs import PairRow, pairs_create
from rounds import ml_bridge
from rounds.models import RoundState, TrainingRound
from rounds.pair_mix import pairs_plan
from rounds.phases.base import PhaseRun, batch_prompts, phase, prompts_split, sample_store
from rounds.phases.selection import pairs_select_uncertain
from rounds.policies import BestOfN, policy_best_of_n, policy_model
from rounds.services import compute
from rounds.services.launch import memory_check, phase_launch


def _store_samples(policy_id: int, prompts: list[Prompt], generated: list, round_id: int) -> dict[int, list[int]]:
    """Store generated samples; returns prompt id -> sample ids (duplicates of one text collapse)."""
    by_prompt: dict[int, list[int]] = {}
    for g in generated:
        prompt = prompts[g.prompt_index]
        params = {**g.params, "round": round_id, "finished_with_eos": g.finished_with_eos, "num_tokens": g.num_tokens}
        sample = sample_store(prompt=prompt, policy_id=policy_id, text=g.text, params=params)
        ids = by_prompt.setdefault(prompt.id, [])
        if sample.id not in ids:
            ids.append(sample.id)
    return by_prompt


def _samples_launch(
    run: PhaseRun, *, name: str, model: Path, prompts: Path, config, progress, best_of_n: BestOfN | None = None
) -> list:
    """`python -m training sample` as a child process (of the best-of-n policy over `model` when `best_of_n`);
    its samples JSONL read back."""
    out = run.folder / "sampling" / f"{name}.jsonl"
    ranking = [] if best_of_n is None else best_of_n.arguments()
    phase_launch(
        training_round=run.training_round, phase=run.phase, folder=run.folder, name=name,
        entry=["-m", "training", "sample", "--model", str(model), "--prompts", str(prompts), "--out", str(out),
               *ranking],
        config=ml_bridge.dataclass_dict(config), progress=progress,
    )  # fmt: skip
    return ml_bridge.samples_read(out)


@phase(RoundState.SAMPLING)
def round_sample(run: PhaseRun) -> None:
    r, settings, progress = run.training_round, run.settings, run.progress
    training, _ = prompts_split(project=run.project, settings=settings)
    batch = batch_prompts(training=training, settings=settings, number=r.number)
    texts = [p.text for p in batch]
    if not r.compute_estimate.get("flops"):
        ml_bridge.model_dir(policy_model(r.policy).artifact_path)  # converts the model once, then estimate
        estimate = compute.round_compute_estimate(training_round=r)
        TrainingRound.objects.filter(id=r.id).update(compute_estimate=estimate)
    with_initial = r.policy_id != r.initial_policy_id and settings.pair_mix.get("current_vs_initial", 0) > 0
    seed_offset = 1000 * r.number
    current_model = policy_model(r.policy)
    current_dir = ml_bridge.model_dir(current_model.artifact_path)
    memory_check(settings=settings, folder=current_dir, artifact=current_model.artifact_path, phases=("sample",))
    prompts = ml_bridge.prompts_write(run.folder / "sampling" / "prompts.jsonl", texts)
    current_config = settings.sampling(samples_per_prompt=settings.samples_per_prompt, seed_offset=seed_offset)
    current_progress = progress.span(0.0, 0.6 if with_initial else 0.95)
    current = _samples_launch(
        run, name="sample-current", model=current_dir, prompts=prompts, config=current_config,
        progress=current_progress, best_of_n=policy_best_of_n(r.policy),
    )  # fmt: skip
    initial = []
    if with_initial:
        initial = _samples_launch(
            run, name="sample-initial", model=ml_bridge.model_dir(r.initial_policy.artifact_path), prompts=prompts,
            config=settings.sampling(samples_per_prompt=1, seed_offset=seed_offset + 500),
            progress=progress.span(0.6, 0.95),
        )  # fmt: skip
    progress(0.97, "building pairs")
    with transaction.atomic():
        current_ids = _store_samples(r.policy_id, batch, current, r.id)
        initial_ids = _store_samples(r.initial_policy_id, batch, initial, r.id) if initial else {}
    references: dict[int, list[int]] = {}
    for sample_id, prompt_id in Sample.objects.filter(
        prompt__in=batch, policy__kind__in=(PolicyKind.HUMAN_REFERENCE, PolicyKind.BASELINE)
    ).values_list("id", "prompt_id"):
        references.setdefault(prompt_id, []).append(sample_id)
    rng = random.Random(settings.seed * 7919 + r.number)
    uncertainty = settings.pair_selection == "uncertainty"
    per_prompt = settings.pairs_per_prompt * (settings.uncertainty_candidates if uncertainty else 1)
    planned = [
        (prompt, plan)
        for prompt in batch
        for plan in pairs_plan(
            current=current_ids.get(prompt.id, []),
            initial=initial_ids.get(prompt.id, []),
            reference=references.get(prompt.id, []),
            mix=settings.pair_mix,
            count=per_prompt,
            rng=rng,
        )
    ]
    selection: dict[str, Any] = {"strategy": "random"}
    if uncertainty:
        planned, selection = pairs_select_uncertain(run=run, planned=planned, k=settings.pairs_per_prompt * len(batch))
    with transaction.atomic():
        created = pairs_create(
            project=run.project,
            rows=[
                PairRow(prompt.id, cast(int, plan.first), cast(int, plan.second), batch=r.batch)
                for prompt, plan in planned
            ],
        )
        kind_of = {frozenset((plan.first, plan.second)): plan.kind for _, plan in planned}
        kinds: dict[str, int] = {}
        for row in created:
            kinds[kind_of[row.key]] = kinds.get(kind_of[row.key], 0) + 1
        pairs = r.project.pairs.filter(batch=r.batch).count()
        if pairs == 0:
            raise ValueError("no pairs could be built: every sample of the batch was identical or missing")
        capacity = pairs * r.project.overlap
        target = min(settings.comparisons_target or capacity, capacity)
        run.finish(
            reason=f"{pairs} pairs queued for labeling; target {target} comparisons",
            updates={"comparisons_target": target},
            metrics={"sampling": {
                "prompts": len(batch), "pairs": pairs, "pair_kinds": kinds,
                "samples_current": len(current), "samples_initial": len(initial),
                "eos_rate": sum(g.finished_with_eos for g in current) / max(len(current), 1),
                "pair_selection": selection,
            }},
        )  # fmt: skip
