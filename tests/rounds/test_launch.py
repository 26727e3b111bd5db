"""Rounds whose ML phases run as `accelerate launch` child processes under a live Celery worker: the phase
record holds each command, a crashed or killed child fails its phase with the log's last lines, a cancel ends
the child's process group, and a resumed PPO phase continues from its checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from labeling.models import Role
from labeling.services.imports import prompts_import
from rounds.models import RoundState, TrainingRound
from rounds.services.lifecycle import round_cancel, round_create, round_resume, round_start
from rounds.simulation import simulated_labelers_run
from training.launch import process_group_alive
from training.loading import build_tiny_model
from training.ppo.checkpoint import checkpoint_load

from .conftest import TINY_SETTINGS, fable_lines
from .test_worker import wait_for
from .worker import rounds_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(900), pytest.mark.slow]
ML_PHASES = (RoundState.SAMPLING, RoundState.REWARD_TRAINING, RoundState.POLICY_OPTIMIZATION, RoundState.EVALUATION)


def _launch(r: TrainingRound, phase: str, index: int = -1) -> dict:
    return r.launches[phase][index]


def _group_members(pgid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes in a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        if state != "Z":
            members.append((int(entry.name), cmdline))
    return members


def _ppo_rank(r: TrainingRound) -> int:
    """The PPO training process itself (the launcher's child), not the `accelerate launch` wrapper."""
    pgid = _launch(r, RoundState.POLICY_OPTIMIZATION)["pid"]
    ranks = [pid for pid, cmd in _group_members(pgid) if pid != pgid and "training ppo" in cmd]
    assert ranks, _group_members(pgid)
    return ranks[0]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_round_runs_through_launched_children_and_a_killed_ppo_child_resumes(
    processes, fable_project, researcher, make_user
):
    steps = 6 if processes == 1 else 2
    settings = {**TINY_SETTINGS, "ppo": {**TINY_SETTINGS["ppo"], "total_episodes": 2 * steps}}
    with rounds_worker(extra_env={"ARBITER_TRAIN_PROCESSES": str(processes)}) as worker:
        r = round_create(project=fable_project, created_by=researcher, settings=settings)
        round_start(training_round=r, actor=researcher)
        wait_for(r.id, lambda x: x.state == RoundState.LABELING, worker, what="labeling", timeout=300)
        simulated_labelers_run(project=fable_project, labelers=2, noise=0.1)
        if processes == 1:
            # The OOM killer's way: SIGKILL the training process once PPO checkpointed two steps.
            def checkpointed(x: TrainingRound) -> bool:
                found = x.state == RoundState.POLICY_OPTIMIZATION and x.launches.get(x.state)
                point = found and checkpoint_load(Path(x.artifact_dir) / "ppo")
                return bool(point) and point.step >= 2

            r = wait_for(r.id, checkpointed, worker, what="2 PPO checkpoints", timeout=400)
            os.kill(_ppo_rank(r), signal.SIGKILL)
            deadline = time.monotonic() + 60
            while TrainingRound.objects.get(id=r.id).state != RoundState.FAILED and time.monotonic() < deadline:
                time.sleep(0.3)
            r.refresh_from_db()
            assert r.state == RoundState.FAILED and r.failed_in == RoundState.POLICY_OPTIMIZATION, r.error
            assert r.error.startswith("LaunchFailed: ppo exited with status") and "last lines of" in r.error
            assert "SIGKILL" in r.error or "Signals" in r.error or "died" in r.error, r.error
            assert _launch(r, RoundState.POLICY_OPTIMIZATION)["returncode"] not in (0, None)
            resumed_from = checkpoint_load(Path(r.artifact_dir) / "ppo").step
            before = (Path(r.artifact_dir) / "ppo" / "metrics.jsonl").read_text().splitlines()
            round_resume(training_round=r, actor=researcher)  # the same worker serves the resume
        r = wait_for(r.id, lambda x: x.state == RoundState.DONE, worker, what="done", timeout=600)

    for phase in ML_PHASES:
        for launch in r.launches[phase]:
            command = launch["command"]
            assert command[1:3] == ["-m", "accelerate.commands.launch"], command
            assert launch["returncode"] == 0 or launch is not r.launches[phase][-1]
            assert Path(launch["log"]).is_file() and Path(launch["config"]).is_file()
    names = {phase: [launch["name"] for launch in r.launches[phase]] for phase in ML_PHASES}
    assert names[RoundState.SAMPLING] == ["sample-current"]
    assert names[RoundState.REWARD_TRAINING] == ["reward-train"]
    assert names[RoundState.EVALUATION] == ["evaluate-new", "evaluate-previous"]
    ppo = _launch(r, RoundState.POLICY_OPTIMIZATION)
    assert ppo["command"][ppo["command"].index("-m", 3) :][:3] == ["-m", "training", "ppo"]
    assert ("--multi_gpu" in ppo["command"]) == (processes > 1) and ppo["processes"] == processes
    assert json.loads(Path(ppo["config"]).read_text())["total_episodes"] == 2 * steps
    records = [json.loads(x) for x in (Path(r.artifact_dir) / "ppo" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in records] == list(range(1, steps + 1))
    assert {m["processes"] for m in records} == {processes}
    assert r.metrics["ppo"]["steps"] == steps and r.new_policy is not None
    if processes == 1:
        assert names[RoundState.POLICY_OPTIMIZATION] == ["ppo", "ppo"]  # the killed launch, then the resume
        after = (Path(r.artifact_dir) / "ppo" / "metrics.jsonl").read_text().splitlines()
        assert after[:resumed_from] == before[:resumed_from]  # kept, not recomputed

        # The recorded command reruns by hand and reproduces the phase's output exactly.
        sampling = _launch(r, RoundState.SAMPLING)
        out = Path(sampling["command"][sampling["command"].index("--out") + 1])
        stored = out.read_bytes()
        out.unlink()
        subprocess.run(sampling["command"], cwd=django_settings.BASE_DIR, check=True, capture_output=True, timeout=300)
        assert out.read_bytes() == stored

        # The round page lists the jobs; the log tail is for the project's researchers only.
        client = Client()
        client.force_login(researcher)
        page = client.get(reverse("round-page", args=[fable_project.slug, r.number])).content.decode()
        assert "accelerate.commands.launch" in page and "reward-train" in page
        log_url = reverse("round-launch-log", args=[fable_project.slug, r.number, "policy_optimization", 0])
        response = client.get(log_url)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
        assert "training ppo" in response.content.decode()
        client.force_login(make_user(Role.LABELER))
        assert client.get(log_url).status_code == 404


def _bad_model(folder: Path) -> Path:
    """A tiny model whose weights file is cut short after its header: it looks complete, and loading fails."""
    build_tiny_model(folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    header = 8 + int.from_bytes(data[:8], "little")
    weights.write_bytes(data[: header + 64])
    return folder


def test_a_crashing_child_fails_its_phase_with_the_log_tail_and_a_cancel_ends_the_childs_process_group(
    fable_project, researcher, make_project, tmp_path
):
    broken = make_project(pairs=0, overlap=2, gold_rate=0.0)
    prompts_import(project=broken, lines=fable_lines(8))
    with rounds_worker() as worker:
        bad = round_create(
            project=broken, created_by=researcher,
            settings={**TINY_SETTINGS, "base_model": str(_bad_model(tmp_path / "bad-model"))},
        )  # fmt: skip
        round_start(training_round=bad, actor=researcher)
        deadline = time.monotonic() + 300
        while TrainingRound.objects.get(id=bad.id).state == RoundState.SAMPLING and time.monotonic() < deadline:
            time.sleep(0.3)
        bad.refresh_from_db()
        assert bad.state == RoundState.FAILED and bad.failed_in == RoundState.SAMPLING
        assert bad.error.startswith("LaunchFailed: sample-current exited with status")
        tail = bad.error.split("last lines of", 1)[1].splitlines()[1:]
        assert 5 <= len(tail) <= 20, bad.error
        assert any("SafetensorError" in line for line in tail), bad.error  # the child's own error, above the launcher's
        assert _launch(bad, RoundState.SAMPLING)["returncode"] not in (0, None)

        # The worker lives on: it takes the next round, and a cancel ends that round's running child.
        r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
        round_start(training_round=r, actor=researcher)
        r = wait_for(r.id, lambda x: bool((x.launches.get("sampling") or [{}])[0].get("pid")), worker, what="launch")
        pgid = _launch(r, RoundState.SAMPLING)["pid"]
        assert process_group_alive(pgid)
        round_cancel(training_round=r, actor=researcher)
        deadline = time.monotonic() + 30
        while process_group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not process_group_alive(pgid), _group_members(pgid)
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)
        assert worker.process.poll() is None
        # The worker records the stopped launch just after the group is gone.
        deadline = time.monotonic() + 30
        while _launch(r, RoundState.SAMPLING)["returncode"] is None and time.monotonic() < deadline:
            time.sleep(0.2)
            r.refresh_from_db()
        assert r.state == RoundState.CANCELLED and _launch(r, RoundState.SAMPLING)["returncode"] == "stopped"
