"""Reward-model phase: export the comparisons through the project's export path and train a reward model."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from labeling.exports.models import Export
from rewards.data import PreferenceExample
from rounds import ml_bridge
from rounds.models import RewardModel, RoundState, TrainingRound
from rounds.phases.base import PhaseRun, phase
from rounds.services.launch import launch_shape, memory_check, phase_launch


def round_training_batches(*, training_round: TrainingRound, cumulative: bool) -> list[str]:
    """Pair batches whose comparisons teach this round's reward model: its own, plus earlier rounds' if cumulative."""
    if not cumulative:
        return [training_round.batch]
    earlier = TrainingRound.objects.filter(project=training_round.project, number__lte=training_round.number)
    return [r.batch for r in earlier]


def heldout_fallback(
    train: list[PreferenceExample], held: list[PreferenceExample], *, heldout_fraction: float
) -> tuple[list[PreferenceExample], list[PreferenceExample]]:
    """(train, held-out). The export splits by a hash of each prompt, which over a few prompts can leave the
    held-out split empty; then the last prompt's examples are held out, if another prompt remains to train on."""
    if heldout_fraction <= 0 or held:
        return train, held
    prompts = list(dict.fromkeys(e.prompt for e in train))
    if len(prompts) < 2:
        return train, held
    last = prompts[-1]
    return [e for e in train if e.prompt != last], [e for e in train if e.prompt == last]


@dataclass(frozen=True)
class RoundPreferences:
    train: list[PreferenceExample]
    held: list[PreferenceExample]
    export: Export
    manifest_sha256: str


def round_preferences_export(
    *, training_round: TrainingRound, batches: list[str], heldout_fraction: float, seed: int, folder: Path
) -> RoundPreferences:
    """Export the batches' comparisons through the project's export path (TRL format, one row per judgment;
    excluded labelers, flagged pairs, gold, ties and both-bad left out, as every export does) and read them back."""
    from labeling.exports.options import ExportRequest
    from labeling.exports.services import EmptyExport, export_create, export_run

    request = ExportRequest(
        format="trl", aggregation="judgment", ties="drop", prompt_layout="stored", include_margin=True,
        batches=tuple(batches),
        split=(1.0 - heldout_fraction, heldout_fraction, 0.0), seed=seed,
    )  # fmt: skip
    attempt = 1 + sum(1 for _ in folder.glob("export-*"))  # a rerun (resume) writes a fresh export
    export = export_create(
        project=training_round.project, request=request, created_by=training_round.created_by, enqueue=False,
        out_dir=folder / f"export-{attempt}",
    )  # fmt: skip
    try:
        export = export_run(export_id=export.id)
    except EmptyExport as exc:
        raise ValueError(f"no usable comparisons for the reward model: {exc}") from exc
    export_dir = Path(export.path)
    train = ml_bridge.preferences_load(export_dir / "train.jsonl")
    held = ml_bridge.preferences_load(export_dir / "validation.jsonl")
    if not train:
        raise ValueError("the export has no training rows (after dropping ties, both-bad, flagged, excluded)")
    train, held = heldout_fallback(train, held, heldout_fraction=heldout_fraction)
    manifest = (export_dir / "manifest.json").read_bytes()
    return RoundPreferences(train, held, export, hashlib.sha256(manifest).hexdigest())


@phase(RoundState.REWARD_TRAINING)
def round_reward_train(run: PhaseRun) -> None:
    r, settings = run.training_round, run.settings
    batches = round_training_batches(training_round=r, cumulative=settings.cumulative)
    run.progress(0.0, "exporting comparisons")
    data = round_preferences_export(
        training_round=r, batches=batches, heldout_fraction=settings.rm_heldout_fraction, seed=settings.seed,
        folder=run.folder,
    )  # fmt: skip
    base = ml_bridge.model_dir(r.initial_policy.artifact_path)
    memory_check(settings=settings, folder=base, artifact=r.initial_policy.artifact_path, phases=("reward",))
    out_dir = run.folder / "reward_model"
    inputs = run.folder / "reward_data"
    train_path = ml_bridge.preferences_write(inputs / "train.jsonl", data.train)
    held = ["--eval-data", str(ml_bridge.preferences_write(inputs / "heldout.jsonl", data.held))] if data.held else []
    phase_launch(
        training_round=r, phase=run.phase, folder=run.folder, name="reward-train",
        entry=["-m", "rewards", "train", "--data", str(train_path), *(held or ["--eval-fraction", "0"]),
               "--base", str(base), "--out", str(out_dir)],
        config=ml_bridge.dataclass_dict(settings.reward), progress=run.progress, shape=launch_shape(settings),
    )  # fmt: skip
    summary = ml_bridge.reward_summary_read(out_dir)
    heldout = summary["metrics"]
    parameters = (r.compute_estimate.get("workload") or {}).get("parameters")
    with transaction.atomic():
        reward_model, _ = RewardModel.objects.update_or_create(
            project=r.project, name=f"rm-round-{r.number}",
            defaults={
                "training_round": r, "parent_policy": r.initial_policy, "export_manifest_hash": data.manifest_sha256,
                "export_path": str(data.export.path), "export": data.export,
                "config": summary.get("extra", {}) | {"reward_config": ml_bridge.dataclass_dict(settings.reward)},
                "metrics": {
                    "heldout": heldout, "loss_history": summary["loss_history"], "train_pairs": len(data.train),
                    "eval_pairs": len(data.held), "batches": batches,
                    "prompts_truncated": summary["prompts_truncated"], "train_tokens": summary["train_tokens"],
                    "train_seconds": summary["train_seconds"],
                },
                "artifact_path": str(out_dir),
            },
        )  # fmt: skip
        run.finish(
            reason=f"reward model trained on {len(data.train)} pairs; held-out accuracy {heldout.get('accuracy')}",
            updates={"reward_model": reward_model},
            metrics={"reward_model": {"accuracy": heldout.get("accuracy"), "ci95": heldout.get("ci95"),
                                      "n": heldout.get("n"), "train_pairs": len(data.train)}},
            measured_flops=6.0 * parameters * summary["train_tokens"] if parameters else None,
        )  # fmt: skip
