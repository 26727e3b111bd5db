"""round_experiment end to end on the tiny model: two rounds of the real loop with simulated labelers,
measured by the rouge oracle, reported as JSON and SVG, and shown on the project page."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from labeling.models import Project
from rounds.experiment.chart import experiment_chart_svg
from rounds.models import Experiment, ExperimentStatus, RoundState, TrainingRound

from .conftest import TINY_SETTINGS, fable_lines

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]
SETTINGS = {k: v for k, v in TINY_SETTINGS.items() if k != "base_model"} | {"heldout_prompts": 3}


def _interval(rate: dict) -> None:
    assert rate["n"] > 0
    assert 0 <= rate["low"] <= rate["value"] <= rate["high"] <= 1, rate


def test_two_round_experiment_reports_every_metric_and_shows_on_the_project_page(tmp_path, client, admin_user):
    prompts = tmp_path / "fables.jsonl"
    prompts.write_text("\n".join(fable_lines(10)) + "\n", encoding="utf-8")
    out, chart = tmp_path / "report.json", tmp_path / "chart.svg"
    call_command(
        "round_experiment", "--project", "exp-tiny", "--create-project", "--prompts", str(prompts),
        "--rounds", "2", "--oracle", "rouge", "--model", "tiny", "--seed", "1", "--labelers", "3", "--tau", "0.05",
        "--flip-rate", "0,0.1,0.2", "--eval-repeats", "2", "--best-of-n", "2", "--bon-kl-samples", "2",
        "--round-settings", json.dumps(SETTINGS), "--json", str(out), "--chart", str(chart),
    )  # fmt: skip
    project = Project.objects.get(slug="exp-tiny")
    rounds = list(TrainingRound.objects.filter(project=project).order_by("number"))
    assert [r.state for r in rounds] == [RoundState.DONE, RoundState.DONE]
    # Round 2 sampled the policy round 1 produced: consecutive rounds of one loop.
    assert rounds[1].policy_id == rounds[0].new_policy_id

    report = json.loads(out.read_text())
    experiment = Experiment.objects.get(project=project)
    assert experiment.status == ExperimentStatus.DONE and experiment.report == report
    assert report["simulated"] is True and "SIMULATED" in report["labelers"]
    assert report["initial"]["rows"] == 6  # 3 held-out prompts × 2 repeats
    assert [row["round"] for row in report["rounds"]] == [1, 2]
    for row in report["rounds"]:
        p, b = row["policy_eval"], row["best_of_n"]
        for part in (p, b):
            assert math.isfinite(part["oracle_score"]) and 0 <= part["eos_rate"] <= 1
            assert part["response_length"] > 0
            _interval(part["win_rate_vs_initial"])
            _interval(part["win_rate_vs_reference"])
        assert p["kl_to_initial"] is not None and math.isfinite(p["kl_to_initial"])
        assert b["n"] == 2 and b["kl_analytic"] == pytest.approx(math.log(2) - 0.5)
        assert b["kl_measured"] is not None and math.isfinite(b["kl_measured"])
        _interval(row["reward_model"]["oracle_accuracy"])
        assert row["agreement"]["pairs_multi"] > 0 and 0 <= row["agreement"]["percent_agreement"] <= 1
        assert row["simulation"]["submitted"] > 0
    # The held-out prompts were never in a round's batch.
    held = {p.text for p in project.prompts.order_by("-id")[:3]}
    batches = {s.prompt.text for r in rounds for s in project.pairs.filter(batch=r.batch)}
    assert not held & batches

    root = ET.fromstring(chart.read_text())
    assert root.tag.endswith("svg") and experiment.chart_svg == chart.read_text()
    assert len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) >= 4

    client.force_login(admin_user)
    page = client.get(reverse("project-detail", args=[project.slug])).content.decode()
    assert f'id="experiment-{experiment.id}"' in page and "SIMULATED labelers" in page
    svg = client.get(reverse("experiment-chart", args=[project.slug, experiment.id]))
    assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")
    assert "sandbox" in svg["Content-Security-Policy"]


def test_chart_escapes_text():
    svg = experiment_chart_svg({"project": "<b>&", "oracle": "rm:/tmp/<script>alert(1)</script>", "rounds": []})
    root = ET.fromstring(svg)  # parses: nothing unescaped
    assert "<script>" not in svg and root.find("{http://www.w3.org/2000/svg}title").text.endswith("labelers)")
    assert "rm:/tmp/<script>alert(1)</script>" in root.find("{http://www.w3.org/2000/svg}title").text


def test_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="unknown oracle"):
        call_command("round_experiment", "--project", "x", "--oracle", "bleu")
    with pytest.raises(CommandError, match="flip rates"):
        call_command("round_experiment", "--project", "x", "--labelers", "3", "--flip-rate", "0.1,0.2")
    with pytest.raises(CommandError, match="set by the experiment"):
        call_command("round_experiment", "--project", "x", "--round-settings", '{"seed": 3}')
    with pytest.raises(CommandError, match="No project"):
        call_command("round_experiment", "--project", "missing")
