"""Real components to break in fault tests: gunicorn with several workers on a pre-bound free port, a private
redis-server that a test may stop and start (never the shared one), and a logged-in HTTP client."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer after {timeout} s:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.2)


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn_server(*, env: dict[str, str], log_path: Path, workers: int = 3) -> Iterator[LiveServer]:
    """`gunicorn config.wsgi` with `workers` processes on a socket bound here to a free port (no race for it)."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"fd://{sock.fileno()}",
        "--workers", str(workers), "--timeout", "120", "--graceful-timeout", "5", "--log-level", "warning",
    ]  # fmt: skip
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),)
        )
    sock.close()
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        _wait_http(f"{server.url}/accounts/login/", process, log_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PrivateRedis:
    """A redis-server of this test alone, on a free port, without persistence; stop() and start() it freely."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is needed for broker-outage tests (scripts/services.sh installs it)")
        self.binary, self.workdir = binary, workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(self.workdir)]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server on port {self.port} did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(workdir)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def logged_in_session(base_url: str, username: str, password: str) -> requests.Session:
    """A browser-like session: the login form, then the CSRF header the workspace's fetch() sends."""
    session = requests.Session()
    session.get(f"{base_url}/accounts/login/", timeout=30)
    token = session.cookies["csrftoken"]
    done = session.post(
        f"{base_url}/accounts/login/", data={"username": username, "password": password,
                                             "csrfmiddlewaretoken": token}, timeout=30, allow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 302, (done.status_code, done.text[:500])
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = f"{base_url}/"
    return session


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process: offline, one torch thread, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_SETTINGS"))}
    env.update({"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(extra or {})})
    return env
