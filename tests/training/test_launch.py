"""The launch machinery on real child processes: command lines, JSON progress, exit status, log, and ending a
whole process group when the caller stops."""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pytest

from training.cli_args import add_dataclass_arguments, dataclass_from_args
from training.launch import (
    ACCELERATE_LAUNCH,
    accelerate_command,
    json_progress,
    launch_run,
    log_tail,
    process_group_alive,
    progress_parse,
)
from training.sampling import SamplingConfig


def test_accelerate_command_for_one_process_several_and_a_config_file(tmp_path):
    entry = ["-m", "training", "ppo", "--out", "run"]
    one = accelerate_command(entry=entry, processes=1)
    assert one[: len(ACCELERATE_LAUNCH)] == list(ACCELERATE_LAUNCH) and one[-len(entry) :] == entry
    assert "--multi_gpu" not in one and one[one.index("--num_processes") + 1] == "1"
    two = accelerate_command(entry=entry, processes=2)
    assert "--multi_gpu" in two and two[two.index("--num_processes") + 1] == "2"
    config = tmp_path / "accelerate.yaml"
    assert accelerate_command(entry=entry, processes=4, config_file=config) == [
        *ACCELERATE_LAUNCH, "--config_file", str(config), *entry,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="processes"):
        accelerate_command(entry=entry, processes=0)


def test_progress_lines_round_trip_and_other_output_is_ignored(capsys):
    json_progress()(0.25, "step 1/4")
    json_progress(enabled=False)(0.5, "rank 1 stays silent")
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1 and progress_parse(printed[0]) == (0.25, "step 1/4")
    for other in ("Loading weights: 100%", '{"steps": 2}', "{not json", ""):
        assert progress_parse(other) is None


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "child.py"
    path.write_text(body)
    return [sys.executable, str(path)]


def test_a_child_reports_progress_writes_its_log_and_its_exit_status_comes_back(tmp_path):
    command = _script(
        tmp_path,
        "import json, sys\n"
        "for i in range(3):\n"
        "    print(json.dumps({'progress': i / 3, 'message': f'step {i}'}), flush=True)\n"
        "print('Traceback: something broke', file=sys.stderr)\n"
        "sys.exit(3)\n",
    )
    seen: list[tuple[float, str]] = []
    log = tmp_path / "child.log"
    returncode = launch_run(command=command, log_path=log, progress=lambda f, m: seen.append((f, m)))
    assert returncode == 3
    assert [s for s in seen if s[1].startswith("step")][:3] == [(0.0, "step 0"), (1 / 3, "step 1"), (2 / 3, "step 2")]
    tail = log_tail(log, lines=2)
    assert tail.splitlines() == ['{"progress": 0.6666666666666666, "message": "step 2"}', "Traceback: something broke"]
    assert log.read_text().startswith("$ " + " ".join(command))


def test_a_stop_raised_by_progress_ends_the_childs_whole_process_group(tmp_path):
    # The child starts a grandchild (as accelerate starts its ranks); both must be gone after the stop.
    command = _script(
        tmp_path,
        "import json, subprocess, sys, time\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "print(json.dumps({'progress': 0.1, 'message': f'grandchild {grandchild.pid}'}), flush=True)\n"
        "time.sleep(120)\n",
    )
    started: list[int] = []

    def progress(fraction: float, message: str) -> None:
        if message.startswith("grandchild"):
            raise KeyboardInterrupt("stop")  # what a cancel's PhaseStopped does inside a phase

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        launch_run(command=command, log_path=tmp_path / "child.log", progress=progress, on_start=started.append)
    assert time.monotonic() - began < 60
    assert not process_group_alive(started[0])
    with pytest.raises(ProcessLookupError):
        os.killpg(started[0], 0)


def test_a_config_file_sets_the_fields_and_options_given_beside_it_override_it(tmp_path):
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, SamplingConfig)
    config = tmp_path / "sampling.json"
    config.write_text(json.dumps({"temperature": 0.3, "max_new_tokens": 9, "seed": 4}))
    parsed = dataclass_from_args(SamplingConfig, parser.parse_args(["--config", str(config), "--seed", "5"]))
    assert (parsed.temperature, parsed.max_new_tokens, parsed.seed, parsed.top_p) == (0.3, 9, 5, 1.0)
    assert dataclass_from_args(SamplingConfig, parser.parse_args([])) == SamplingConfig()
    config.write_text(json.dumps({"temprature": 0.3}))
    with pytest.raises(ValueError, match=r"unknown SamplingConfig field.*temprature"):
        dataclass_from_args(SamplingConfig, parser.parse_args(["--config", str(config)]))


def test_an_accelerate_config_file_launches_the_entry_as_it_describes(tmp_path):
    config = tmp_path / "accelerate.yaml"
    config.write_text(
        "compute_environment: LOCAL_MACHINE\ndistributed_type: 'NO'\nnum_machines: 1\nnum_processes: 1\n"
        "mixed_precision: 'no'\nuse_cpu: true\n"
    )
    script = _script(
        tmp_path,
        "import json, os\n"
        "print(json.dumps({'progress': 1.0, 'message': 'cpu=' + os.environ.get('ACCELERATE_USE_CPU', '')}))\n",
    )[1:]
    seen: list[tuple[float, str]] = []
    command = accelerate_command(entry=script, config_file=config)
    returncode = launch_run(command=command, log_path=tmp_path / "log", progress=lambda f, m: seen.append((f, m)))
    assert returncode == 0, log_tail(tmp_path / "log")
    assert (1.0, "cpu=True") in seen
