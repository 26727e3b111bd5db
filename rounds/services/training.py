"""The training phases of a round: reward model on the comparisons, PPO against it, and evaluation."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

from django.conf import settings as django_settings
from django.db import transaction

from labeling.models import Pair, Policy, PolicyKind, Sample
from labeling.services.imports import content_hash
from rounds import ml_bridge
from rounds.config import round_settings_parse
from rounds.models import RewardModel, RoundState, TrainingRound
from rounds.services.phases import batch_prompts, phase_claim, phase_finish, prompts_split, sample_text
from rounds.services.progress import PhaseProgress

S = RoundState


def round_artifact_dir(training_round: TrainingRound) -> Path:
    """The round's own folder; its creation time in the name keeps it unique even if a database is recreated."""
    if not training_round.artifact_dir:
        stamp = training_round.created_at.strftime("%Y%m%dT%H%M%S%f")
        folder = (
            Path(django_settings.ARTIFACT_DIR) / "rounds" / f"{training_round.project.slug}-{training_round.id}-{stamp}"
        )
        TrainingRound.objects.filter(id=training_round.id).update(artifact_dir=str(folder))
        training_round.artifact_dir = str(folder)
    folder = Path(training_round.artifact_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def round_training_batches(*, training_round: TrainingRound, cumulative: bool) -> list[str]:
    """Pair batches whose comparisons teach this round's reward model: its own, plus earlier rounds' if cumulative."""
    if not cumulative:
        return [training_round.batch]
    earlier = TrainingRound.objects.filter(project=training_round.project, number__lte=training_round.number)
    return [r.batch for r in earlier]


def round_preferences_export(
    *, training_round: TrainingRound, batches: list[str], heldout_fraction: float, seed: int, folder: Path
):
    """Export the batches' comparisons through the project's export path (TRL format, one row per judgment;
    excluded labelers, flagged pairs, gold, ties and both-bad left out, as every export does) and read them back.
    Returns (train examples, held-out examples, export, manifest sha256)."""
    from labeling.exports.options import ExportRequest
    from labeling.exports.services import EmptyExport, export_create, export_run

    request = ExportRequest(
        format="trl", aggregation="judgment", ties="drop", prompt_layout="stored", include_margin=True,
        batches=tuple(batches),
        split=(1.0 - heldout_fraction, heldout_fraction, 0.0), seed=seed,
    )  # fmt: skip
    attempt = 1 + sum(1 for _ in folder.glob("export-*"))  # a rerun (resume) writes a fresh export
    export = export_create(
        project=training_round.project, request=request, created_by=None, enqueue=False,
        out_dir=folder / f"export-{attempt}",
    )  # fmt: skip
    try:
        export = export_run(export_id=export.id)
    except EmptyExport as exc:
        raise ValueError(f"no usable comparisons for the reward model: {exc}") from exc
    folder = Path(export.path)
    train = ml_bridge.preferences_load(folder / "train.jsonl")
    held = ml_bridge.preferences_load(folder / "validation.jsonl")
    if not train:
        raise ValueError("the export has no training rows (after dropping ties, both-bad, flagged, excluded)")
    if heldout_fraction > 0 and not held:
        train, held = preferences_split(train, heldout_fraction)
    manifest = (folder / "manifest.json").read_bytes()
    return train, held, export, hashlib.sha256(manifest).hexdigest()


def round_reward_train(*, round_id: int, task_id: str) -> None:
    training_round = phase_claim(round_id=round_id, phase=S.REWARD_TRAINING, task_id=task_id)
    if training_round is None:
        return
    started = time.monotonic()
    settings = round_settings_parse(training_round.settings)
    project = training_round.project
    folder = round_artifact_dir(training_round)
    progress = PhaseProgress(round_id=round_id, phase=S.REWARD_TRAINING)
    batches = round_training_batches(training_round=training_round, cumulative=settings.cumulative)
    progress(0.0, "exporting comparisons")
    train, held, export, manifest_hash = round_preferences_export(
        training_round=training_round,
        batches=batches,
        heldout_fraction=settings.rm_heldout_fraction,
        seed=settings.seed,
        folder=folder,
    )
    export_path = Path(export.path)
    config = ml_bridge.reward_config(settings, instruction_template=project.instruction_template)
    base = ml_bridge.model_dir(training_round.initial_policy.artifact_path)
    result = ml_bridge.reward_train(
        config=config, train=train, eval=held, base=base, out_dir=folder / "reward_model", progress=progress
    )
    summary = ml_bridge.result_summary(result)
    metrics = {
        "heldout": summary["metrics"], "loss_history": summary["loss_history"], "train_pairs": len(train),
        "eval_pairs": len(held), "batches": batches, "prompts_truncated": summary["prompts_truncated"],
        "train_tokens": summary["train_tokens"], "train_seconds": summary["train_seconds"],
    }  # fmt: skip
    parameters = (training_round.compute_estimate.get("workload") or {}).get("parameters")
    measured = 6.0 * parameters * summary["train_tokens"] if parameters else None
    with transaction.atomic():
        reward_model, _ = RewardModel.objects.update_or_create(
            project=project, name=f"rm-round-{training_round.number}",
            defaults={
                "training_round": training_round, "parent_policy": training_round.initial_policy,
                "export_manifest_hash": manifest_hash, "export_path": str(export_path), "export": export,
                "config": summary.get("extra", {}) | {"reward_config": ml_bridge.dataclass_dict(config)},
                "metrics": metrics, "artifact_path": str(folder / "reward_model"),
            },
        )  # fmt: skip
        round_metrics = TrainingRound.objects.get(id=round_id).metrics
        round_metrics["reward_model"] = {"accuracy": summary["metrics"].get("accuracy"),
                                         "ci95": summary["metrics"].get("ci95"), "n": summary["metrics"].get("n"),
                                         "train_pairs": len(train)}  # fmt: skip
        TrainingRound.objects.filter(id=round_id).update(reward_model=reward_model, metrics=round_metrics)
        accuracy = summary["metrics"].get("accuracy")
        phase_finish(
            training_round=training_round, phase=S.REWARD_TRAINING, seconds=time.monotonic() - started,
            reason=f"reward model trained on {len(train)} pairs; held-out accuracy {accuracy}",
            measured_flops=measured,
        )  # fmt: skip


def round_policy_optimize(*, round_id: int, task_id: str) -> None:
    training_round = phase_claim(round_id=round_id, phase=S.POLICY_OPTIMIZATION, task_id=task_id)
    if training_round is None:
        return
    started = time.monotonic()
    settings = round_settings_parse(training_round.settings)
    project = training_round.project
    folder = round_artifact_dir(training_round)
    start_policy = training_round.initial_policy if settings.ppo_init == "initial" else training_round.policy
    training, _ = prompts_split(project=project, settings=settings)
    config = ml_bridge.ppo_config(settings, instruction_template=project.instruction_template)
    result = ml_bridge.ppo_run(
        config=config,
        policy=ml_bridge.model_dir(start_policy.artifact_path),
        reward_model=Path(training_round.reward_model.artifact_path),
        prompts=[p.text for p in training],
        out_dir=folder / "ppo",
        progress=PhaseProgress(round_id=round_id, phase=S.POLICY_OPTIMIZATION),
    )
    keys = ("step", "score", "kl", "non_score_reward", "entropy", "response_length", "eos_rate")
    curve = [{k: m.get(k) for k in keys} for m in result.metrics]
    with transaction.atomic():
        policy, _ = Policy.objects.update_or_create(
            project=project, name=f"round-{training_round.number}-ppo",
            defaults={
                "kind": PolicyKind.TRAINED, "parent": start_policy, "artifact_path": str(result.policy_dir),
                "metadata": {
                    "round": training_round.id, "reward_model": training_round.reward_model_id,
                    "previous_policy": training_round.policy_id, "ppo_config": ml_bridge.dataclass_dict(config),
                    "steps": result.steps, "episodes": result.episodes, "final": result.metrics[-1] if result.metrics else {},
                },
            },
        )  # fmt: skip
        metrics = TrainingRound.objects.get(id=round_id).metrics
        metrics["ppo"] = {"steps": result.steps, "episodes": result.episodes, "curve": curve,
                          "prompts_truncated": result.prompts_truncated}  # fmt: skip
        TrainingRound.objects.filter(id=round_id).update(new_policy=policy, metrics=metrics)
        phase_finish(
            training_round=training_round, phase=S.POLICY_OPTIMIZATION, seconds=time.monotonic() - started,
            reason=f"PPO ran {result.steps} steps; registered policy {policy.name}",
        )  # fmt: skip


def _eval_prompts(training_round: TrainingRound, settings) -> list:
    training, heldout = prompts_split(project=training_round.project, settings=settings)
    return heldout or batch_prompts(training=training, settings=settings, number=training_round.number)[:4]


def round_evaluate(*, round_id: int, task_id: str) -> None:
    """RM score and KL of the new policy against the previous one on held-out prompts; new-vs-previous pairs
    go to labelers so humans judge progress (the win rate grows as they label)."""
    training_round = phase_claim(round_id=round_id, phase=S.EVALUATION, task_id=task_id)
    if training_round is None:
        return
    started = time.monotonic()
    settings = round_settings_parse(training_round.settings)
    project = training_round.project
    progress = PhaseProgress(round_id=round_id, phase=S.EVALUATION)
    prompts = _eval_prompts(training_round, settings)
    texts = [p.text for p in prompts]
    new_dir = ml_bridge.model_dir(training_round.new_policy.artifact_path)
    old_dir = ml_bridge.model_dir(training_round.policy.artifact_path)

    def config(offset: int):
        return ml_bridge.sampling_config(
            settings, instruction_template=project.instruction_template, samples_per_prompt=1, seed_offset=offset
        )

    new = ml_bridge.samples_generate(folder=new_dir, prompts=texts, config=config(777), progress=progress.span(0, 0.35))
    old = ml_bridge.samples_generate(
        folder=old_dir, prompts=texts, config=config(778), progress=progress.span(0.35, 0.7)
    )
    progress(0.75, "scoring with the reward model")
    rm_dir = Path(training_round.reward_model.artifact_path)
    scores = ml_bridge.responses_score(
        reward_model=rm_dir, prompts=texts + texts, responses=[g.text for g in new] + [g.text for g in old]
    )
    new_scores, old_scores = scores[: len(texts)], scores[len(texts) :]
    progress(0.85, "KL of the new policy")
    template = project.instruction_template
    kl_previous = ml_bridge.policy_kl(
        policy=new_dir, reference=old_dir, prompts=texts, responses=[g.text for g in new], template=template
    )
    initial_dir = ml_bridge.model_dir(training_round.initial_policy.artifact_path)
    kl_initial = (
        kl_previous
        if initial_dir == old_dir
        else ml_bridge.policy_kl(
            policy=new_dir, reference=initial_dir, prompts=texts, responses=[g.text for g in new], template=template
        )
    )
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    with transaction.atomic():
        pairs = 0
        rng = random.Random(settings.seed + training_round.number)
        for prompt, n, o in list(zip(prompts, new, old, strict=True))[: settings.eval_pairs]:
            a = _sample(prompt, training_round.new_policy_id, n, round_id)
            b = _sample(prompt, training_round.policy_id, o, round_id)
            if a.text == b.text:
                continue
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            _, created = Pair.objects.get_or_create(
                project=project, sample_a=first, sample_b=second,
                defaults={"prompt": prompt, "batch": training_round.eval_batch},
            )  # fmt: skip
            pairs += int(created)
        metrics = TrainingRound.objects.get(id=round_id).metrics
        metrics["evaluation"] = {
            "prompts": len(prompts), "rm_score_new": mean(new_scores), "rm_score_previous": mean(old_scores),
            "kl_vs_previous": kl_previous, "kl_vs_initial": kl_initial, "human_eval_pairs": pairs,
        }  # fmt: skip
        TrainingRound.objects.filter(id=round_id).update(metrics=metrics)
        phase_finish(
            training_round=training_round, phase=S.EVALUATION, seconds=time.monotonic() - started,
            reason=f"RM score {mean(new_scores):+.3f} vs {mean(old_scores):+.3f}; KL {kl_previous:.3f}; "
            f"{pairs} pairs queued for human evaluation",
        )  # fmt: skip


def _sample(prompt, policy_id: int, generated, round_id: int) -> Sample:
    params = {**generated.params, "round": round_id, "evaluation": True}
    text = sample_text(generated)
    sample, _ = Sample.objects.get_or_create(
        prompt=prompt, policy_id=policy_id, content_hash=content_hash(text),
        defaults={"text": text, "generation_params": params},
    )  # fmt: skip
    return sample
