"""Label Studio beside Arbiter in the labeling bench: its own venv, its own PostgreSQL database, gunicorn, and
the same labelers looping next -> submit on the same pairwise workload.

The venv (PyPI `label-studio`, never Arbiter's venv) is created on first use under bench/out/ls-venv; a
migrated empty database is kept as a template (`<db>_migrated`) so later runs skip Label Studio's migrations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from labeling_clients import server_wait

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_VENV = BENCH_DIR / "out" / "ls-venv"
PACKAGES = ["label-studio", "gunicorn", "psycopg2-binary"]


@dataclass(frozen=True)
class LabelStudio:
    python: Path
    package_dir: Path  # the label_studio package: Django's manage.py and core.wsgi live here
    version: str


def label_studio_prepare(venv: Path = DEFAULT_VENV) -> tuple[LabelStudio | None, str]:
    """The installed Label Studio (installing it into `venv` if needed), or None and why not."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"Label Studio: creating {venv} and installing {' '.join(PACKAGES)} (several minutes) ...", flush=True)
        made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        if made.returncode != 0:
            return None, f"could not create the venv {venv}: {made.stderr.strip()[-300:]}"
    probe = [
        str(python),
        "-c",
        "import importlib.metadata as m, label_studio, os; "
        "print(m.version('label-studio')); print(os.path.dirname(label_studio.__file__))",
    ]
    found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode != 0:
        log = venv.parent / "ls-install.log"
        with log.open("w") as out:
            installed = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *PACKAGES], stdout=out, stderr=subprocess.STDOUT
            )
        if installed.returncode != 0:
            return None, f"pip install {' '.join(PACKAGES)} failed (see {log})"
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode != 0:
            return None, f"label_studio does not import: {found.stderr.strip()[-300:]}"
    version, package_dir = found.stdout.split()[:2]
    return LabelStudio(python=python, package_dir=Path(package_dir), version=version), ""


def label_studio_env(*, pg_host: str, pg_port: int, db_name: str, data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "PYTHON"))}
    env.update(
        DJANGO_SETTINGS_MODULE="core.settings.label_studio",
        DJANGO_DB="default",
        POSTGRE_NAME=db_name,
        POSTGRE_USER="postgres",
        POSTGRE_PASSWORD="",
        POSTGRE_HOST=pg_host,
        POSTGRE_PORT=str(pg_port),
        BASE_DATA_DIR=data_dir,
        DEBUG="false",
        LOG_LEVEL="ERROR",
        LATEST_VERSION_CHECK="false",
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
    )
    return env


def label_studio_database(*, ls: LabelStudio, admin_url: str, db_name: str, env: dict[str, str]) -> None:
    """A fresh `db_name` copied from the migrated template (made, with Label Studio's migrations, if missing)."""
    template = f"{db_name}_migrated"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone()
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        if not exists:
            conn.execute(f'CREATE DATABASE "{template}"')
    if not exists:
        print("Label Studio: migrating an empty database (once; kept as a template) ...", flush=True)
        migrate = [str(ls.python), "manage.py", "migrate", "--noinput", "-v", "0"]
        done = subprocess.run(migrate, cwd=ls.package_dir, env={**env, "POSTGRE_NAME": template}, capture_output=True)
        if done.returncode != 0:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            raise RuntimeError(f"Label Studio migrate failed: {done.stderr.decode(errors='replace')[-500:]}")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}" TEMPLATE "{template}"')


def label_studio_load(*, ls: LabelStudio, env: dict[str, str], tasks: int, labelers: int, overlap: int) -> dict:
    """{"project": id, "tokens": [...]} from bench/label_studio_setup.py run by Label Studio's Python."""
    command = [
        str(ls.python),
        str(BENCH_DIR / "label_studio_setup.py"),
        f"--tasks={tasks}",
        f"--labelers={labelers}",
        f"--overlap={overlap}",
    ]
    done = subprocess.run(command, cwd=ls.package_dir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"Label Studio setup failed: {done.stderr[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def label_studio_server(*, ls: LabelStudio, env: dict[str, str], port: int, workers: int, token: str):
    """gunicorn serving Label Studio's WSGI app (sync workers), once it answers an authenticated request."""
    command = [
        str(ls.python),
        "-m",
        "gunicorn",
        "core.wsgi:application",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "-k",
        "sync",
        "--backlog",
        "2048",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    # Its start-up chatter and warnings go to a log in its data directory, not into the bench's report.
    log = open(Path(env["BASE_DATA_DIR"]) / "gunicorn.log", "ab")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(command, cwd=ls.package_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    server_wait(
        server,
        name="Label Studio's gunicorn",
        url=f"http://127.0.0.1:{port}/api/current-user/whoami",
        token=token,
        timeout_s=120,
        poll_s=0.5,
    )
    return server


def label_studio_data_dir() -> str:
    return tempfile.mkdtemp(prefix="arbiter-bench-ls-")
