"""Running an engine command as an `accelerate launch` child process: its command line, the JSON progress
lines it prints (rank 0 only), its log, and ending its whole process group on cancel or failure."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

ProgressFn = Callable[[float, str], None]
ACCELERATE_LAUNCH = (sys.executable, "-m", "accelerate.commands.launch")
PROGRESS_KEY = "progress"
LOG_TAIL_LINES = 20
POLL_SECONDS = 0.5
TERMINATE_GRACE_SECONDS = 10.0


def accelerate_command(*, entry: Sequence[str], processes: int = 1, config_file: Path | str | None = None) -> list[str]:
    """`accelerate launch ... <entry>` where `entry` is a script or `-m module args`.

    With a config file, the file describes the launch in full (processes, machines, precision, FSDP/DeepSpeed),
    as `accelerate config` wrote it. Without one, `processes` local processes: one runs plainly; several run with
    `--multi_gpu`, which is torchrun with NCCL on GPUs and gloo on a machine without (accelerate's `--cpu` starts
    one process only unless MPI is installed).
    """
    if config_file is not None:
        return [*ACCELERATE_LAUNCH, "--config_file", str(config_file), *entry]
    if processes < 1:
        raise ValueError(f"processes must be >= 1, got {processes}")
    launcher = ["--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no"]
    launcher += ["--dynamo_backend", "no", "--main_process_port", "0"]
    launcher += ["--multi_gpu"] if processes > 1 else []
    return [*ACCELERATE_LAUNCH, *launcher, *entry]


def json_progress(*, enabled: bool = True) -> ProgressFn:
    """A `progress(fraction, message)` that prints one JSON line per call on stdout, for a parent to read;
    silent where `enabled` is false (ranks other than 0)."""

    def progress(fraction: float, message: str) -> None:
        if enabled:
            print(json.dumps({PROGRESS_KEY: float(fraction), "message": message}), flush=True)

    return progress


def progress_parse(line: str) -> tuple[float, str] | None:
    """(fraction, message) of a JSON progress line; None for any other output."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get(PROGRESS_KEY), (int, float)):
        return None
    return float(data[PROGRESS_KEY]), str(data.get("message", ""))


def log_tail(path: Path | str, *, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log ('' when it does not exist)."""
    path = Path(path)
    if not path.is_file():
        return ""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return "".join(deque(fh, maxlen=lines)).rstrip("\n")


def process_group_alive(pgid: int) -> bool:
    """Whether any process of the group `pgid` is still running (zombies included until reaped)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the id was reused by someone else's group
        return False
    return True


def process_group_end(pgid: int, *, grace: float = TERMINATE_GRACE_SECONDS) -> None:
    """SIGTERM every process of the group, SIGKILL what is left after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while process_group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _pump(stream: IO[str], log_path: Path, lines: queue.Queue[tuple[float, str]]) -> None:
    with open(log_path, "a", encoding="utf-8", errors="replace") as log:
        for line in stream:
            log.write(line)
            log.flush()
            parsed = progress_parse(line)
            if parsed is not None:
                lines.put(parsed)


def launch_run(
    *,
    command: Sequence[str],
    log_path: Path,
    progress: ProgressFn,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> int:
    """Run `command` in its own session (process group), its stdout and stderr appended to `log_path`, and
    return its exit status (negative: the signal that ended it). Its JSON progress lines reach `progress`, which
    is also called with the last known state every POLL_SECONDS as a heartbeat; an exception raised there (a
    cancel) or anywhere in this function ends the whole process group before it propagates. `on_start(pid)`
    hears the child's pid, which is also its process group id."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
    child = subprocess.Popen(
        list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        errors="replace", start_new_session=True,
    )  # fmt: skip
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    assert child.stdout is not None  # stdout=PIPE
    reader = threading.Thread(target=_pump, args=(child.stdout, log_path, lines), daemon=True)
    reader.start()
    last = (0.0, "launched")
    try:
        if on_start is not None:
            on_start(child.pid)
        while True:
            returncode = child.poll()
            while not lines.empty():
                last = lines.get_nowait()
                progress(*last)
            if returncode is not None:
                reader.join(timeout=5)
                while not lines.empty():
                    progress(*lines.get_nowait())
                return returncode
            progress(min(last[0], 0.999), last[1])
            time.sleep(POLL_SECONDS)
    finally:
        if child.poll() is None or process_group_alive(child.pid):
            process_group_end(child.pid)
        child.wait()
