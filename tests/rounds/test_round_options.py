"""Round options: optimizer=best_of_n registers a policy the next round samples best-of-n from, and
pair_selection=uncertainty queues the pairs the previous reward model is least sure of (random in round 1)."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from labeling.models import PolicyKind, Sample
from rounds import ml_bridge
from rounds.config import RoundSettingsError, round_settings_parse
from rounds.models import RoundState
from rounds.phases.inline import round_run_inline
from rounds.phases.selection import NO_REWARD_MODEL
from rounds.policies import policy_best_of_n
from rounds.services.lifecycle import round_create, round_start
from rounds.simulation import simulated_labelers_run

from .conftest import TINY_SETTINGS

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]


def _run(project, researcher, settings):
    r = round_create(project=project, created_by=researcher, settings=settings)
    round_start(training_round=r, actor=researcher)
    r = round_run_inline(round_id=r.id, label=lambda _: simulated_labelers_run(project=project, labelers=2, noise=0.1))
    assert r.state == RoundState.DONE, r.error
    return r


def test_best_of_n_round_then_an_uncertainty_round(fable_project, researcher):
    first = _run(
        fable_project, researcher,
        {**TINY_SETTINGS, "optimizer": "best_of_n", "best_of_n": 3, "pair_selection": "uncertainty"},
    )  # fmt: skip
    # Round 1 has no reward model to be uncertain with: random pairs, and it says so.
    selection = first.metrics["sampling"]["pair_selection"]
    assert selection["strategy"] == "random" and selection["fallback"] == NO_REWARD_MODEL
    assert first.metrics["sampling"]["pairs"] == TINY_SETTINGS["num_prompts"] * TINY_SETTINGS["pairs_per_prompt"]

    policy = first.new_policy
    best = policy_best_of_n(policy)
    assert policy.kind == PolicyKind.TRAINED and best is not None
    assert best.base.id == first.initial_policy_id and best.n == 3
    assert str(best.reward_model_dir) == first.reward_model.artifact_path
    assert "ppo" not in first.metrics  # no training happened
    evaluation = first.metrics["evaluation"]
    assert evaluation["kl_analytic"] == pytest.approx(math.log(3) - 2 / 3)
    assert evaluation["kl_measured"] is not None and evaluation["kl_vs_initial"] == evaluation["kl_measured"]
    # Evaluated by a launched child too: `python -m training evaluate --best-of-n 3`, ranked by the round's model.
    evaluated = {row["name"]: row["command"] for row in first.launches[RoundState.EVALUATION]}
    command = evaluated["evaluate-new"]
    assert command[command.index("--best-of-n") + 1] == "3" and "--reference" not in command
    assert command[command.index("--ranking-model") + 1] == first.reward_model.artifact_path
    assert "--best-of-n" not in evaluated["evaluate-previous"]

    second = _run(
        fable_project, researcher, {**TINY_SETTINGS, "pair_selection": "uncertainty", "uncertainty_explore": 0.0}
    )
    assert second.policy_id == policy.id
    # The next round's samples of the best-of-n policy came from best-of-n sampling.
    current = [
        s for s in Sample.objects.filter(policy=policy, generation_params__round=second.id)
        if not s.generation_params.get("evaluation")
    ]  # fmt: skip
    assert current and all(s.generation_params["best_of_n"] == 3 for s in current)
    # It ran as `python -m training sample --best-of-n 3` over the base model, a child process like every phase.
    launch = next(row for row in second.launches[RoundState.SAMPLING] if row["name"] == "sample-current")
    command = launch["command"]
    assert command[command.index("--best-of-n") + 1] == "3"
    assert command[command.index("--ranking-model") + 1] == first.reward_model.artifact_path
    assert Path(command[command.index("--model") + 1]) == ml_bridge.model_dir(best.base.artifact_path)
    # Rerun by hand as a researcher would: the same responses, each the best of 3 by the reward model.
    out = Path(command[command.index("--out") + 1])
    out.unlink()
    subprocess.run(
        command, check=True, capture_output=True, timeout=300, cwd=django_settings.BASE_DIR,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {row["text"] for row in rows} == {s.text for s in current}
    assert all(row["params"]["best_of_n"] == 3 for row in rows)
    scored = ml_bridge.responses_score(
        reward_model=best.reward_model_dir,
        prompts=[row["prompt"] for row in rows],
        responses=[row["text"] for row in rows],
    )
    assert scored == pytest.approx([row["params"]["reward"] for row in rows], abs=1e-4)
    selection = second.metrics["sampling"]["pair_selection"]
    assert selection["strategy"] == "uncertainty" and selection["reward_model"] == first.reward_model.artifact_path
    # The candidates were scored by `python -m rewards score`, a launched child, with round 1's reward model.
    scoring = next(row for row in second.launches[RoundState.SAMPLING] if row["name"] == "score-candidates")
    assert scoring["command"][scoring["command"].index("--model") + 1] == first.reward_model.artifact_path
    assert scoring["returncode"] == 0
    candidates, queued = selection["p_a_candidates"], selection["p_a_queued"]
    assert len(candidates) > len(queued) == selection["queued"]
    # Without exploration the queued pairs are exactly the ones nearest 0.5.
    nearest = sorted(abs(p - 0.5) for p in candidates)[: len(queued)]
    assert sorted(abs(p - 0.5) for p in queued) == pytest.approx(nearest)
    assert second.metrics["evaluation"]["kl_vs_initial"] is not None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"optimizer": "dpo"}, "optimizer"),
        ({"best_of_n": 0}, "best_of_n"),
        ({"pair_selection": "active"}, "pair_selection"),
        ({"uncertainty_explore": 1.5}, "uncertainty_explore"),
    ],
)
def test_bad_round_options_are_refused(settings, message):
    with pytest.raises(RoundSettingsError, match=message):
        round_settings_parse(settings)
