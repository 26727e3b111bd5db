"""Creating a round estimates its compute from the model's files alone: no torch, no weights, in milliseconds."""

from __future__ import annotations

import sys
import time

import pytest
from django.core.management import call_command

from rounds import ml_bridge
from rounds.models import TrainingRound
from rounds.services.lifecycle import round_create
from training.model_files import parameter_count

from .conftest import TINY_SETTINGS

pytestmark = pytest.mark.django_db
HEAVY = ("torch", "transformers", "training.loading", "training.tiny_model", "safetensors.torch")


def loaded_parameter_count(folder) -> int:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())  # tied weights once


@pytest.fixture
def tiny_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARBITER_MODEL_DIR", str(tmp_path / "models"))
    return tmp_path / "models"


def block_heavy_imports(monkeypatch) -> None:
    """Any import of torch, transformers or the model loaders from here on raises ImportError."""
    for name in HEAVY:
        monkeypatch.setitem(sys.modules, name, None)


def test_create_reads_the_model_files_not_the_model(fable_project, researcher, tiny_cache, monkeypatch):
    folder = ml_bridge.model_dir("tiny")
    expected = loaded_parameter_count(folder)
    block_heavy_imports(monkeypatch)
    began = time.monotonic()
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    seconds = time.monotonic() - began
    assert r.compute_estimate["workload"]["parameters"] == expected > 0
    assert r.compute_estimate["total_flops"] > 0
    assert seconds < 2.0, f"round_create took {seconds:.1f} s"

    # The command line goes the same way.
    call_command("round", "create", "--project", fable_project.slug, "--user", researcher.username)
    second = TrainingRound.objects.get(project=fable_project, number=2)
    assert second.compute_estimate["workload"]["parameters"] == expected


def test_a_model_not_built_yet_is_estimated_later_and_nothing_is_built(
    fable_project, researcher, tiny_cache, monkeypatch
):
    block_heavy_imports(monkeypatch)
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    assert "not available yet" in r.compute_estimate["note"] and "flops" not in r.compute_estimate
    assert not tiny_cache.exists()


@pytest.mark.parametrize("name", ["tiny", "tiny-gpt2"])
def test_parameter_count_from_config_shapes_without_weight_files(name, tiny_cache, tmp_path):
    folder = ml_bridge.model_dir(name)
    expected = loaded_parameter_count(folder)
    assert parameter_count(folder) == expected  # the safetensors headers: exact
    bare = tmp_path / f"{name}-config-only"
    bare.mkdir()
    (bare / "config.json").write_text((folder / "config.json").read_text())
    assert parameter_count(bare) == expected  # the shapes in config.json: exact too, biases included
