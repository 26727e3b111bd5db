"""Researcher interface: API, pages and commands for rounds; simulated labelers through the real API."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from labeling.models import Comparison, Pair, Role
from labeling.services.accounts import user_create, user_role
from labeling.services.agreement_report import agreement_report_build
from labeling.services.imports import pairs_import
from rounds import ml_bridge
from rounds.models import RoundState, TrainingRound
from rounds.simulation import shorter_oracle, simulated_labelers_run
from tests.conftest import pair_lines

from .conftest import TINY_SETTINGS

pytestmark = pytest.mark.django_db


def test_api_create_validate_and_act(fable_project, researcher, labeler, api_client_for):
    ml_bridge.model_dir("tiny")  # built, so the estimate comes at creation (else at sampling)
    client = api_client_for(researcher)
    url = f"/api/v1/projects/{fable_project.slug}/rounds/"
    bad = client.post(url, {"settings": {"num_prompts": -1}}, format="json")
    assert bad.status_code == 400 and "num_prompts" in bad.json()["detail"] + str(bad.json())
    made = client.post(url, {"settings": TINY_SETTINGS}, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["state"] == RoundState.CREATED and body["compute_estimate"]["total_flops"] > 0
    detail = client.get(f"{url}1/").json()
    assert detail["number"] == 1 and detail["timeline"] == []
    started = client.post(f"{url}1/start/", {}, format="json")
    assert started.json()["state"] == RoundState.SAMPLING
    again = client.post(f"{url}1/start/", {}, format="json")
    assert again.status_code == 409
    cancelled = client.post(f"{url}1/cancel/", {"reason": "typo in settings"}, format="json").json()
    assert cancelled["state"] == RoundState.CANCELLED
    assert [(t["to"], t["reason"]) for t in cancelled["timeline"]][-1] == ("cancelled", "typo in settings")
    assert api_client_for(labeler).get(url).status_code == 403


def test_pages_create_and_show_a_round(fable_project, researcher):
    client = APIClient()
    client.force_login(researcher)
    page = client.get(f"/projects/{fable_project.slug}/")
    assert page.status_code == 200 and b"round-form" in page.content
    created = client.post(f"/projects/{fable_project.slug}/rounds/new/", {
        "base_model": "tiny", "num_prompts": "3", "samples_per_prompt": "2", "current_vs_initial": "1",
        "current_vs_reference": "1", "current_vs_current": "0", "cumulative": "on", "ppo": '{"total_episodes": 4}',
    })  # fmt: skip
    assert created.status_code == 302
    r = TrainingRound.objects.get(project=fable_project)
    assert r.settings["pair_mix"]["current_vs_current"] == 0 and r.settings["ppo"] == {"total_episodes": 4}
    TrainingRound.objects.filter(id=r.id).update(
        metrics={"ppo": {"curve": [{"step": 1, "score": 0.1, "kl": 0.0}, {"step": 2, "score": 0.4, "kl": 0.2}]}}
    )
    html = client.get(f"/projects/{fable_project.slug}/rounds/{r.number}/").content.decode()
    assert "Timeline" in html and "<svg" in html and "PPO: KL to the reference" in html
    assert "cdn" not in html.lower()
    client.post(f"/projects/{fable_project.slug}/rounds/{r.number}/start/")
    r.refresh_from_db()
    assert r.state == RoundState.SAMPLING and r.transitions.get().actor == researcher
    bad = client.post(f"/projects/{fable_project.slug}/rounds/new/", {"ppo": "{not json"}, follow=True)
    assert b"not valid JSON" in bad.content


def test_round_command(fable_project, researcher, capsys):
    call_command(
        "round",
        "create",
        "--project",
        fable_project.slug,
        "--config",
        '{"num_prompts": 2}',
        "--user",
        researcher.username,
    )
    call_command(
        "round", "cancel", "--project", fable_project.slug, "--reason", "just testing", "--user", researcher.username
    )
    out = capsys.readouterr().out
    assert "Created round 1" in out and "cancelled" in out and "just testing" in out


def test_simulated_labelers_use_the_real_api_and_are_marked(make_project, researcher):
    project = make_project(pairs=0, overlap=2, gold_rate=0.0)
    pairs_import(project=project, lines=pair_lines(6))
    report = simulated_labelers_run(project=project, labelers=3, noise=0.0)
    assert report.submitted == 12  # 6 pairs × overlap 2, then every queue is empty
    labelers = {c.labeler for c in Comparison.objects.filter(pair__project=project)}
    assert all(u.username.startswith("sim-") and user_role(u) == Role.LABELER for u in labelers)
    # Without noise each labeler follows the oracle on every pair it saw.
    for c in Comparison.objects.filter(pair__project=project).select_related(
        "pair__sample_a", "pair__sample_b", "pair__prompt"
    ):
        pref = shorter_oracle(c.pair.prompt.text, c.pair.sample_a.text, c.pair.sample_b.text)
        assert c.choice == ("a" if pref > 0 else "b" if pref < 0 else "tie")
    # Their agreement comes out of the same report as humans'.
    rows = {row.username: row for row in agreement_report_build(project=project, n_resamples=0).labelers}
    assert set(report.labelers) <= set(rows) and all(rows[u].n_judgments > 0 for u in report.labelers)


def test_simulate_labelers_command_with_limit_and_noise(make_project, capsys):
    project = make_project(pairs=0, overlap=1, gold_rate=0.0)
    pairs_import(project=project, lines=pair_lines(8))
    call_command("simulate_labelers", "--project", project.slug, "--labelers", "2", "--noise", "1.0", "--limit", "5")
    out = capsys.readouterr().out
    assert "SIMULATION: 5 judgments" in out and "5 flipped" in out
    assert Pair.objects.filter(project=project, submitted_count=1).count() == 5


def test_round_command_records_who_acted(fable_project, researcher, labeler, monkeypatch, capsys):
    monkeypatch.delenv("ARBITER_USER", raising=False)
    monkeypatch.setattr("getpass.getuser", lambda: "nobody-with-this-name")
    with pytest.raises(CommandError, match="No account matches the OS user 'nobody-with-this-name'"):
        call_command("round", "create", "--project", fable_project.slug)
    assert not TrainingRound.objects.filter(project=fable_project).exists()

    monkeypatch.setenv("ARBITER_USER", labeler.username)
    with pytest.raises(CommandError, match="rounds need a researcher or admin"):
        call_command("round", "create", "--project", fable_project.slug)
    monkeypatch.setenv("ARBITER_USER", "ghost")
    with pytest.raises(CommandError, match=r"No account 'ghost' \(from \$ARBITER_USER\)"):
        call_command("round", "create", "--project", fable_project.slug)

    # The OS login name is used when it names an account; --user and $ARBITER_USER come before it.
    monkeypatch.delenv("ARBITER_USER")
    monkeypatch.setattr("getpass.getuser", lambda: researcher.username)
    call_command("round", "create", "--project", fable_project.slug, "--start")
    r = TrainingRound.objects.get(project=fable_project, number=1)
    assert r.created_by == researcher and r.transitions.get().actor == researcher
    other = user_create(username="res-two", password="a-long-passphrase-9", role=Role.RESEARCHER)
    monkeypatch.setenv("ARBITER_USER", other.username)
    call_command("round", "cancel", "--project", fable_project.slug)
    assert r.transitions.order_by("id").last().actor == other
    call_command("round", "status", "--project", fable_project.slug)
    assert f"by {other.username}" in capsys.readouterr().out
