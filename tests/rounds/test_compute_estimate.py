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


def test_a_best_of_n_round_is_estimated_as_what_it_runs(fable_project, researcher, tiny_cache):
    """No PPO for the best-of-n optimizer, n candidates (generated and scored) per response of a best-of-n policy."""
    from labeling.models import Policy, PolicyKind
    from rounds.policies import BEST_OF_N
    from rounds.services.compute import round_compute_estimate

    ml_bridge.model_dir("tiny")
    ppo = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    bon = round_create(
        project=fable_project,
        created_by=researcher,
        settings={**TINY_SETTINGS, "optimizer": "best_of_n", "best_of_n": 3},
    )
    flops, bon_flops = ppo.compute_estimate["flops"], bon.compute_estimate["flops"]
    assert flops["policy_optimization"] > 0 and bon_flops["policy_optimization"] == 0
    assert bon_flops["sampling"] == flops["sampling"] and bon_flops["reward_training"] == flops["reward_training"]
    # Evaluation: 3 candidates and 3 KL samples of the new policy, all scored, then the old policy and its score.
    assert bon_flops["evaluation"] == pytest.approx(flops["evaluation"] / 5 * (2 * 2 * 3 + 2))

    # A round sampling a best-of-n policy generates and scores n candidates per kept sample, on its base's model.
    sampled = Policy.objects.create(
        project=fable_project, name="bon-3", kind=PolicyKind.TRAINED, artifact_path="",
        metadata={"optimizer": BEST_OF_N, "base_policy": ppo.policy_id, "n": 3, "reward_model_dir": "/rm"},
    )  # fmt: skip
    ppo.policy = sampled
    estimate = round_compute_estimate(training_round=ppo)
    assert estimate["workload"]["parameters"] == ppo.compute_estimate["workload"]["parameters"]
    assert estimate["flops"]["sampling"] == pytest.approx(flops["sampling"] * 2 * 3)
