"""Running a round's phases: claiming a phase for one task, sampling and pair building, the labeling check."""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.conf import settings as django_settings
from django.db import transaction

from labeling.models import Comparison, Pair, PolicyKind, Project, Prompt, Sample
from labeling.services import clock
from labeling.services.errors import Conflict
from labeling.services.imports import content_hash
from rounds import ml_bridge
from rounds.config import RoundSettings, round_settings_parse
from rounds.models import RoundState, TrainingRound
from rounds.pair_mix import pairs_plan
from rounds.services import compute
from rounds.services.progress import PhaseProgress, round_stale_after
from rounds.services.state import NEXT_PHASE, round_transition

S = RoundState


def _stale_after() -> timedelta:
    return round_stale_after()


def phase_claim(*, round_id: int, phase: str, task_id: str) -> TrainingRound | None:
    """The round if this task may run `phase` now, else None: the round moved on, or another task is running
    it and reported progress recently. A redelivered message (same task id) may continue. Locks the round."""
    with transaction.atomic():
        training_round = TrainingRound.objects.select_for_update().filter(id=round_id).first()
        if training_round is None or training_round.state != phase:
            return None
        now = clock.now()
        other = training_round.running_task_id and training_round.running_task_id != task_id
        fresh = training_round.progress_updated_at and now - training_round.progress_updated_at < _stale_after()
        if other and fresh:
            return None
        training_round.running_task_id = task_id
        training_round.progress_updated_at = now
        training_round.save(update_fields=["running_task_id", "progress_updated_at"])
        return training_round


def phase_finish(
    *, training_round: TrainingRound, phase: str, seconds: float, reason: str, measured_flops: float | None = None
) -> TrainingRound:
    """Record the phase's wall time and FLOP/s, then move on. Call inside the transaction that saved the results."""
    rows = TrainingRound.objects.filter(id=training_round.id)
    current = rows.values("phase_seconds", "compute_achieved", "compute_estimate").first()
    current["phase_seconds"][phase] = round(seconds, 3)
    current["compute_achieved"][phase] = compute.phase_achieved(
        estimate=current["compute_estimate"], phase=phase, seconds=seconds, measured_flops=measured_flops
    )
    rows.update(phase_seconds=current["phase_seconds"], compute_achieved=current["compute_achieved"])
    return round_transition(round_id=training_round.id, to_state=NEXT_PHASE[phase], reason=reason, expected_from=phase)


def prompts_split(*, project: Project, settings: RoundSettings) -> tuple[list[Prompt], list[Prompt]]:
    """(training prompts, held-out prompts): the project's last `heldout_prompts` prompts are never sampled
    for labeling or trained on, so evaluation sees new inputs."""
    prompts = list(Prompt.objects.filter(project=project).order_by("id"))
    cut = max(len(prompts) - settings.heldout_prompts, 1)
    return prompts[:cut], prompts[cut:]


def batch_prompts(*, training: list[Prompt], settings: RoundSettings, number: int) -> list[Prompt]:
    """The round's prompts: a window that moves on each round, so later rounds ask about new prompts."""
    size = min(settings.num_prompts, len(training))
    offset = ((number - 1) * size) % len(training)
    return [training[(offset + i) % len(training)] for i in range(size)]


def sample_text(generated) -> str:
    """Generated text as storable text: PostgreSQL text cannot hold NUL, which an untrained model may emit."""
    return generated.text.replace("\x00", "\ufffd")


def _store_samples(policy_id: int, prompts: list[Prompt], generated: list, round_id: int) -> dict[int, list[int]]:
    """Upsert generated samples; returns prompt id -> sample ids (duplicates of one text collapse)."""
    by_prompt: dict[int, list[int]] = {}
    for g in generated:
        prompt = prompts[g.prompt_index]
        params = {**g.params, "round": round_id, "finished_with_eos": g.finished_with_eos, "num_tokens": g.num_tokens}
        text = sample_text(g)
        sample, _ = Sample.objects.get_or_create(
            prompt=prompt, policy_id=policy_id, content_hash=content_hash(text),
            defaults={"text": text, "generation_params": params},
        )  # fmt: skip
        ids = by_prompt.setdefault(prompt.id, [])
        if sample.id not in ids:
            ids.append(sample.id)
    return by_prompt


def round_sample(*, round_id: int, task_id: str) -> None:
    """Sampling phase: current (and initial) policy samples for the round's prompts, paired by the mix."""
    training_round = phase_claim(round_id=round_id, phase=S.SAMPLING, task_id=task_id)
    if training_round is None:
        return
    started = time.monotonic()
    settings = round_settings_parse(training_round.settings)
    project = training_round.project
    progress = PhaseProgress(round_id=round_id, phase=S.SAMPLING)
    training, _ = prompts_split(project=project, settings=settings)
    batch = batch_prompts(training=training, settings=settings, number=training_round.number)
    texts = [p.text for p in batch]
    if not training_round.compute_estimate.get("flops"):
        ml_bridge.model_dir(training_round.policy.artifact_path)  # converts the model once, then estimate
        estimate = compute.round_compute_estimate(training_round=training_round)
        TrainingRound.objects.filter(id=round_id).update(compute_estimate=estimate)
    with_initial = training_round.policy_id != training_round.initial_policy_id and (
        settings.pair_mix.get("current_vs_initial", 0) > 0
    )
    seed_offset = 1000 * training_round.number
    current = ml_bridge.samples_generate(
        folder=ml_bridge.model_dir(training_round.policy.artifact_path),
        prompts=texts,
        config=ml_bridge.sampling_config(
            settings, instruction_template=project.instruction_template,
            samples_per_prompt=settings.samples_per_prompt, seed_offset=seed_offset,
        ),
        progress=progress.span(0.0, 0.6 if with_initial else 0.95),
    )  # fmt: skip
    initial = []
    if with_initial:
        initial = ml_bridge.samples_generate(
            folder=ml_bridge.model_dir(training_round.initial_policy.artifact_path),
            prompts=texts,
            config=ml_bridge.sampling_config(
                settings, instruction_template=project.instruction_template, samples_per_prompt=1,
                seed_offset=seed_offset + 500,
            ),
            progress=progress.span(0.6, 0.95),
        )  # fmt: skip
    progress(0.97, "building pairs")
    with transaction.atomic():
        current_ids = _store_samples(training_round.policy_id, batch, current, round_id)
        initial_ids = _store_samples(training_round.initial_policy_id, batch, initial, round_id) if initial else {}
        references: dict[int, list[int]] = {}
        for sample_id, prompt_id in Sample.objects.filter(
            prompt__in=batch, policy__kind__in=(PolicyKind.HUMAN_REFERENCE, PolicyKind.BASELINE)
        ).values_list("id", "prompt_id"):
            references.setdefault(prompt_id, []).append(sample_id)
        rng = random.Random(settings.seed * 7919 + training_round.number)
        kinds: dict[str, int] = {}
        for prompt in batch:
            for planned in pairs_plan(
                current=current_ids.get(prompt.id, []), initial=initial_ids.get(prompt.id, []),
                reference=references.get(prompt.id, []), mix=settings.pair_mix, count=settings.pairs_per_prompt,
                rng=rng,
            ):  # fmt: skip
                exists = Pair.objects.filter(
                    project=project, sample_a_id=planned.second, sample_b_id=planned.first
                ).exists()
                if exists:
                    continue
                _, created = Pair.objects.get_or_create(
                    project=project, sample_a_id=planned.first, sample_b_id=planned.second,
                    defaults={"prompt": prompt, "batch": training_round.batch},
                )  # fmt: skip
                kinds[planned.kind] = kinds.get(planned.kind, 0) + int(created)
        pairs = Pair.objects.filter(project=project, batch=training_round.batch).count()
        if pairs == 0:
            raise ValueError("no pairs could be built: every sample of the batch was identical or missing")
        capacity = pairs * project.overlap
        target = min(settings.comparisons_target or capacity, capacity)
        metrics = {
            **training_round.metrics,
            "sampling": {
                "prompts": len(batch), "pairs": pairs, "pair_kinds": kinds,
                "samples_current": len(current), "samples_initial": len(initial),
                "eos_rate": sum(g.finished_with_eos for g in current) / max(len(current), 1),
            },
        }  # fmt: skip
        TrainingRound.objects.filter(id=round_id).update(comparisons_target=target, metrics=metrics)
        phase_finish(
            training_round=training_round, phase=S.SAMPLING, seconds=time.monotonic() - started,
            reason=f"{pairs} pairs queued for labeling; target {target} comparisons",
        )  # fmt: skip


def round_comparisons(*, training_round: TrainingRound) -> int:
    return Comparison.objects.filter(
        pair__batch=training_round.batch, pair__project_id=training_round.project_id, is_current=True
    ).count()


def round_labeling_check(*, round_id: int) -> bool:
    """Move a labeling round on once its comparisons target is reached; True if it moved. Safe to call often
    (after submits, from the round page's polling, from the periodic watch task)."""
    training_round = TrainingRound.objects.filter(id=round_id, state=S.LABELING).first()
    if training_round is None:
        return False
    done = round_comparisons(training_round=training_round)
    if done < training_round.comparisons_target:
        TrainingRound.objects.filter(id=round_id, state=S.LABELING).update(
            progress_percent=round(100 * done / max(training_round.comparisons_target, 1), 2),
            progress_message=f"{done}/{training_round.comparisons_target} comparisons",
            progress_updated_at=clock.now(),
        )
        return False
    started = training_round.transitions.filter(to_state=S.LABELING).order_by("-created_at").first()
    seconds = (clock.now() - started.created_at).total_seconds() if started else 0.0
    with transaction.atomic():
        try:
            phase_finish(
                training_round=training_round, phase=S.LABELING, seconds=seconds,
                reason=f"comparisons target reached ({done}/{training_round.comparisons_target})",
            )  # fmt: skip
        except Conflict:  # someone else moved it on first: nothing to do
            return False
    return True


def labeling_poll_seconds() -> float:
    return float(django_settings.ARBITER.get("ROUND_LABELING_POLL_SECONDS", 10))


def round_still_labeling(*, round_id: int) -> bool:
    return TrainingRound.objects.filter(id=round_id, state=S.LABELING).exists()
