"""Round settings: JSON → one typed dataclass whose reward and PPO parts are the ML engine's configs."""

from __future__ import annotations

import inspect
import sys

import pytest

from rewards.config import RewardConfig
from rounds.config import RoundSettings, RoundSettingsError, round_settings_parse
from training.defaults import DEFAULT_MAX_NEW_TOKENS
from training.ppo.config import PPOConfig
from training.ppo.evaluate import responses_evaluate
from training.sampling import SamplingConfig

from .conftest import TINY_SETTINGS


def test_reward_and_ppo_are_typed_configs_with_the_round_defaults_and_the_project_template():
    template = "Retell this fable.\n\n{text}"
    s = round_settings_parse(
        {"seed": 7, "max_new_tokens": 20, "temperature": 0.9, "ppo": {"batch_size": 4, "mini_batch_size": 2}},
        instruction_template=template,
    )
    assert isinstance(s.reward, RewardConfig) and isinstance(s.ppo, PPOConfig)
    assert (s.ppo.seed, s.ppo.max_new_tokens, s.ppo.temperature, s.ppo.batch_size) == (7, 20, 0.9, 4)
    assert (s.reward.seed, s.reward.instruction_template, s.ppo.instruction_template) == (7, template, template)
    sampling = s.sampling(samples_per_prompt=3, seed_offset=10)
    assert (sampling.instruction_template, sampling.seed, sampling.max_new_tokens) == (template, 17, 20)
    # An override of a round-level default wins for its config only.
    s = round_settings_parse({"max_new_tokens": 20, "ppo": {"max_new_tokens": 30}})
    assert (s.ppo.max_new_tokens, s.sampling(samples_per_prompt=1).max_new_tokens) == (30, 20)


def test_json_keeps_only_the_overrides_and_round_trips():
    parsed = round_settings_parse(TINY_SETTINGS)
    data = parsed.to_dict()
    assert data["ppo"] == TINY_SETTINGS["ppo"]
    # An override equal to the default (num_epochs 1.0) is no override.
    assert data["reward"] == {k: v for k, v in TINY_SETTINGS["reward"].items() if k != "num_epochs"}
    assert "instruction_template" not in data
    assert round_settings_parse(data) == parsed
    assert round_settings_parse({}).to_dict()["ppo"] == {}


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"ppo": {"batch_size": 3, "mini_batch_size": 2}}, "ppo: mini_batch_size"),
        ({"reward": {"no_such_field": 1}}, "reward: unknown field"),
        ({"ppo": {"instruction_template": "{text}"}}, "comes from the project"),
        ({"ppo": []}, "ppo must be an object"),
        ({"base_model": " "}, "base_model"),
        ({"cumulative": "yes"}, "cumulative"),
        ({"train_processes": 0}, "train_processes must be an integer >= 1"),
        ({"train_processes": True}, "train_processes"),
        ({"accelerate_config": "/no/such/accelerate.yaml"}, "accelerate_config: no file"),
    ],
)
def test_bad_settings_name_the_field(bad, message):
    with pytest.raises(RoundSettingsError, match=message):
        round_settings_parse(bad)


def test_one_default_response_length_everywhere():
    evaluate_default = inspect.signature(responses_evaluate).parameters["max_new_tokens"].default
    defaults = {
        RoundSettings().max_new_tokens,
        round_settings_parse({}).ppo.max_new_tokens,
        PPOConfig().max_new_tokens,
        SamplingConfig().max_new_tokens,
        evaluate_default,
    }
    assert defaults == {DEFAULT_MAX_NEW_TOKENS}


def test_parsing_settings_does_not_load_torch():
    import subprocess

    code = "import sys, rounds.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_round_may_name_its_launch_processes_and_accelerate_config(tmp_path):
    config = tmp_path / "accelerate.yaml"
    config.write_text("num_processes: 2\n")
    parsed = round_settings_parse({"train_processes": 2, "accelerate_config": str(config)})
    assert (parsed.train_processes, parsed.accelerate_config) == (2, str(config))
    assert round_settings_parse(parsed.to_dict()) == parsed
    assert round_settings_parse({}).train_processes is None
