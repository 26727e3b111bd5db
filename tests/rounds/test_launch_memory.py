"""Memory refusal before launch: a round whose estimated accelerator memory exceeds ARBITER_GPU_MEMORY_GB is
refused at create and start with the estimate, and a phase refuses before launching anything."""

from __future__ import annotations

import json

import pytest

from common.errors import DomainError
from rounds.config import round_settings_parse
from rounds.models import RoundState, TrainingRound
from rounds.phases import sampling
from rounds.phases.base import phase_execute
from rounds.services.launch import launch_shape, memory_check
from rounds.services.lifecycle import round_create, round_start
from training.loading import resolve_model
from training.memory import ModelShape, memory_estimate

from .conftest import TINY_SETTINGS

pytestmark = pytest.mark.django_db


def test_a_round_that_cannot_fit_the_declared_memory_is_refused_at_create_start_and_in_its_phase(
    fable_project, researcher, settings
):
    settings.ARBITER_GPU_MEMORY_GB = 0.5  # below the runtime overhead of any model
    with pytest.raises(DomainError, match=r"needs about \d+\.\d GiB .* but the worker declares 0.5 GiB") as refused:
        round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    assert "(full)" in str(refused.value) or "inference" in str(refused.value)
    assert not TrainingRound.objects.filter(project=fable_project).exists()

    settings.ARBITER_GPU_MEMORY_GB = None  # unset: no check
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    settings.ARBITER_GPU_MEMORY_GB = 0.5
    with pytest.raises(DomainError, match="needs about"):
        round_start(training_round=r, actor=researcher)
    r.refresh_from_db()
    assert r.state == RoundState.CREATED

    settings.ARBITER_GPU_MEMORY_GB = None
    round_start(training_round=r, actor=researcher)
    settings.ARBITER_GPU_MEMORY_GB = 0.5  # the worker declares less than the web process assumed
    phase_execute(phase=RoundState.SAMPLING, service=sampling.round_sample, round_id=r.id, task_id="t1")
    r.refresh_from_db()
    assert r.state == RoundState.FAILED and r.failed_in == RoundState.SAMPLING
    assert r.error.startswith("MemoryRefused: sampling of tiny (inference) needs about")
    assert r.launches == {}  # refused before any child started


def test_lora_fits_where_full_fine_tuning_does_not(fable_project, researcher, settings):
    # A limit between the tiny model's LoRA and full PPO estimates: the round's LoRA setting decides.
    folder = resolve_model("tiny")
    parsed = round_settings_parse(TINY_SETTINGS)
    lora = round_settings_parse({**TINY_SETTINGS, "ppo": {**TINY_SETTINGS["ppo"], "lora_r": 4}})
    shape = ModelShape.from_config(json.loads((folder / "config.json").read_text()))
    common = dict(phase="ppo", batch_size=2, sequence_tokens=96 + 12, new_tokens=12)
    full_gib = memory_estimate(shape, mode="full", **common).total_gib
    lora_gib = memory_estimate(shape, mode="lora", lora_r=4, **common).total_gib
    assert lora_gib < full_gib
    settings.ARBITER_GPU_MEMORY_GB = (lora_gib + full_gib) / 2
    memory_check(settings=lora, folder=folder, artifact="tiny", phases=("ppo",))
    with pytest.raises(ValueError, match=r"PPO of tiny \(full\) needs about"):
        memory_check(settings=parsed, folder=folder, artifact="tiny", phases=("ppo",))
    assert launch_shape(parsed).processes == settings.ARBITER_TRAIN_PROCESSES
