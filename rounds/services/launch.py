"""The ML phases' child processes: a phase writes its inputs into the round folder, then launches one engine
command (`python -m rewards|training ...`) under `accelerate launch`, recorded on the round (command, config,
log, exit status) so a researcher can rerun it by hand; its progress reaches the round page, a cancel ends its
process group, and a crash fails the phase with the last lines of its log."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction

from common import clock
from rounds.config import RoundSettings
from rounds.models import TrainingRound
from rounds.services.progress import PhaseProgress
from training.launch import accelerate_command, launch_run, log_tail, process_group_alive, process_group_end
from training.memory import REFERENCE_CONFIGS, ModelShape, Phase, memory_estimate, memory_refusal

LAUNCH_DIRNAME = "launches"


class LaunchFailed(RuntimeError):
    """A launched child exited with an error or was killed (e.g. out of memory); the message ends with its log."""


class MemoryRefused(ValueError):
    """The phase's estimated accelerator memory exceeds what the worker declares (ARBITER_GPU_MEMORY_GB)."""


@dataclass(frozen=True)
class LaunchShape:
    """How a training child is launched: local processes, or an accelerate config file that says it all."""

    processes: int
    config_file: str | None


def launch_shape(settings: RoundSettings) -> LaunchShape:
    """The round's train_processes / accelerate_config, else the worker's ARBITER_ settings."""
    processes = settings.train_processes or django_settings.ARBITER_TRAIN_PROCESSES
    config_file = settings.accelerate_config or django_settings.ARBITER_ACCELERATE_CONFIG
    if config_file is not None and not Path(config_file).is_file():
        raise ValueError(f"the accelerate config file {config_file} does not exist on this worker")
    return LaunchShape(processes=processes, config_file=config_file)


def _record_update(*, round_id: int, phase: str, index: int | None, fields: dict[str, Any]) -> int:
    """Add (index None) or update one launch record of the phase; returns its index. Locks the round."""
    with transaction.atomic():
        row = TrainingRound.objects.select_for_update().filter(id=round_id).values("launches").get()
        launches = row["launches"] or {}
        entries = launches.setdefault(phase, [])
        if index is None:
            entries.append(fields)
            index = len(entries) - 1
        else:
            entries[index].update(fields)
        TrainingRound.objects.filter(id=round_id).update(launches=launches)
        return index


def _pid_record(*, round_id: int, phase: str, index: int, pid: int) -> None:
    _record_update(round_id=round_id, phase=phase, index=index, fields={"pid": pid})


def orphans_end(*, training_round: TrainingRound, phase: str) -> None:
    """End the process groups of earlier launches of the phase that still run: their worker died (SIGKILL,
    out of memory) and left them behind, and a rerun must not share their output folder."""
    current = TrainingRound.objects.filter(id=training_round.id).values_list("launches", flat=True).get() or {}
    for entry in current.get(phase, []):
        pid = entry.get("pid")
        if pid and entry.get("returncode") is None and process_group_alive(pid):
            process_group_end(pid)


def phase_launch(
    *,
    training_round: TrainingRound,
    phase: str,
    folder: Path,
    name: str,
    entry: Sequence[str],
    config: dict[str, Any] | None,
    progress: PhaseProgress,
    shape: LaunchShape | None = None,
) -> None:
    """Launch `python <entry> [--config FILE] --progress json` (one process, or as `shape` says) with the
    round's folder as its working files; returns when it exited 0, raises LaunchFailed otherwise. `config` is
    written to launches/<name>-<n>.json and passed as --config; the log is launches/<name>-<n>.log."""
    shape = shape or LaunchShape(processes=1, config_file=None)
    orphans_end(training_round=training_round, phase=phase)
    launch_dir = folder / LAUNCH_DIRNAME
    launch_dir.mkdir(parents=True, exist_ok=True)
    attempt = 1 + sum(1 for _ in launch_dir.glob(f"{name}-*.log"))
    stem = launch_dir / f"{name}-{attempt}"
    arguments = list(entry)
    config_path: Path | None = None
    if config is not None:
        config_path = stem.with_suffix(".json")
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        arguments += ["--config", str(config_path)]
    arguments += ["--progress", "json"]
    command = accelerate_command(entry=arguments, processes=shape.processes, config_file=shape.config_file)
    log_path = stem.with_suffix(".log")
    index = _record_update(
        round_id=training_round.id, phase=phase, index=None,
        fields={
            "name": name, "command": command, "config": str(config_path) if config_path else None,
            "log": str(log_path), "processes": shape.processes, "accelerate_config": shape.config_file,
            "pid": None, "returncode": None, "started_at": clock.now().isoformat(), "finished_at": None,
        },
    )  # fmt: skip
    returncode: int | None = None
    try:
        returncode = launch_run(
            command=command, log_path=log_path, progress=progress, cwd=django_settings.BASE_DIR,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            on_start=lambda pid: _pid_record(round_id=training_round.id, phase=phase, index=index, pid=pid),
        )  # fmt: skip
    finally:
        _record_update(
            round_id=training_round.id, phase=phase, index=index,
            fields={"returncode": returncode if returncode is not None else "stopped",
                    "finished_at": clock.now().isoformat()},
        )  # fmt: skip
    if returncode != 0:
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with status {returncode}"
        raise LaunchFailed(f"{name} {how}; the last lines of {log_path}:\n{log_tail(log_path)}")


def _model_shape(*, folder: Path | None, artifact: str) -> ModelShape | None:
    if folder is not None and (folder / "config.json").is_file():
        return ModelShape.from_config(json.loads((folder / "config.json").read_text(encoding="utf-8")))
    if artifact in REFERENCE_CONFIGS:
        return ModelShape.from_config(REFERENCE_CONFIGS[artifact])
    return None


def memory_check(
    *,
    settings: RoundSettings,
    folder: Path | None,
    artifact: str,
    phases: Sequence[Phase] = ("sample", "reward", "ppo"),
) -> None:
    """Raise MemoryRefused when a phase's estimate (the round's model, LoRA or full, bf16 frozen weights as on an
    accelerator) exceeds ARBITER_GPU_MEMORY_GB per process; nothing when that is unset or the model unknown."""
    available: float | None = django_settings.ARBITER_GPU_MEMORY_GB
    shape = _model_shape(folder=folder, artifact=artifact) if available is not None else None
    if shape is None:
        return
    processes = max(launch_shape(settings).processes, 1)
    ppo, reward = settings.ppo, settings.reward
    options: dict[str, dict[str, Any]] = {
        "sample": dict(
            batch_size=settings.sampling_batch_size * settings.samples_per_prompt,
            sequence_tokens=ppo.max_prompt_tokens + settings.max_new_tokens, new_tokens=settings.max_new_tokens,
        ),
        "reward": dict(
            mode="lora" if reward.lora_r else "full", lora_r=reward.lora_r or 8, batch_size=reward.batch_size,
            sequence_tokens=reward.max_length, gradient_checkpointing=reward.gradient_checkpointing,
        ),
        "ppo": dict(
            mode="lora" if ppo.lora_r else "full", lora_r=ppo.lora_r or 8,
            batch_size=max(ppo.batch_size // processes, 1), sequence_tokens=ppo.max_prompt_tokens + ppo.max_new_tokens,
            new_tokens=ppo.max_new_tokens, gradient_checkpointing=ppo.gradient_checkpointing,
        ),
    }  # fmt: skip
    labels = {"sample": "sampling", "reward": "reward-model training", "ppo": "PPO"}
    for phase in phases:
        estimate = memory_estimate(shape, phase=phase, precision="bf16", **options[phase])
        mode = options[phase].get("mode", "inference")
        refusal = memory_refusal(estimate, available, what=f"{labels[phase]} of {artifact} ({mode})")
        if refusal is not None:
            raise MemoryRefused(refusal)
