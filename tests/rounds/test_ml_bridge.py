"""The row ↔ dataclass bridge (rounds.ml_bridge): round rows to typed settings, artifacts to model folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewards.data import PreferenceExample
from rounds import ml_bridge
from rounds.config import round_settings_parse
from rounds.services.lifecycle import round_create

from .conftest import TINY_SETTINGS

pytestmark = pytest.mark.django_db


def test_round_settings_come_from_the_row_with_the_projects_template(make_project, researcher):
    from labeling.services.imports import prompts_import

    from .conftest import fable_lines

    template = "Tell the moral of this fable.\n\n{text}"
    project = make_project(pairs=0, instruction_template=template)
    prompts_import(project=project, lines=fable_lines(4))
    r = round_create(project=project, created_by=researcher, settings={**TINY_SETTINGS, "seed": 5})
    settings = ml_bridge.round_settings(r)
    assert settings.instruction_template == template
    assert settings.ppo.instruction_template == template and settings.reward.instruction_template == template
    assert settings.seed == 5 and settings.ppo.total_episodes == TINY_SETTINGS["ppo"]["total_episodes"]
    assert r.settings == settings.to_dict()


def test_model_dir_resolves_names_and_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("ARBITER_MODEL_DIR", str(tmp_path / "cache"))
    folder = ml_bridge.model_dir("tiny")
    assert folder == tmp_path / "cache" / "tiny-llama" and (folder / "config.json").is_file()
    assert ml_bridge.model_dir(str(folder)) == folder
    assert ml_bridge.model_dir_if_ready(str(folder)) == folder
    assert ml_bridge.model_dir_if_ready(str(tmp_path / "missing")) is None
    with pytest.raises(FileNotFoundError):
        ml_bridge.model_dir(str(tmp_path / "missing"))


def test_parameter_count_reads_the_safetensors_headers(tmp_path, monkeypatch):
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("ARBITER_MODEL_DIR", str(tmp_path))
    folder = ml_bridge.model_dir("tiny")
    model = AutoModelForCausalLM.from_pretrained(folder)
    # Tied embeddings are stored once, as the header counts them.
    stored = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    assert ml_bridge.parameter_count(folder) == stored > 0


def test_preferences_load_reads_an_export_file_and_treats_missing_or_empty_as_none(tmp_path):
    path = tmp_path / "train.jsonl"
    assert ml_bridge.preferences_load(path) == []
    path.write_text("\n")
    assert ml_bridge.preferences_load(path) == []
    row = {"prompt": "p", "chosen": "c", "rejected": "r", "margin": 0.5}
    path.write_text(json.dumps(row) + "\n")
    assert ml_bridge.preferences_load(path) == [PreferenceExample("p", "c", "r", 0.5)]


def test_dataclasses_become_json_ready_data():
    from dataclasses import dataclass

    @dataclass
    class Result:
        out_dir: Path
        steps: int

    assert ml_bridge.dataclass_dict(Result(Path("/a/b"), 3)) == {"out_dir": "/a/b", "steps": 3}
    ppo = round_settings_parse(TINY_SETTINGS).ppo
    data = ml_bridge.dataclass_dict(ppo)
    assert data["batch_size"] == 2 and data == json.loads(json.dumps(data))
