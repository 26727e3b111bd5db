"""docker-compose.yml validates offline against the Compose spec and Debian's docker-compose, and has the shape we run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
LONG_RUNNING = ("web", "worker", "worker-gpu", "redis", "postgres")


def check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """docker-compose.yml next to a .env made from .env.example, as a user sets it up (env_file must exist)."""
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    return tmp_path


@pytest.fixture
def docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (scripts/test.sh installs Debian's package)")
    return binary


def test_compose_file_matches_the_compose_spec():
    result = check_jsonschema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_spec_check_rejects_a_broken_file(tmp_path: Path):
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["web"]["depends_on"]["postgres"]["condition"] = "service_up_soon"
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    assert check_jsonschema(path).returncode != 0


def test_docker_compose_config_accepts_it(docker_compose: str, project_dir: Path):
    result = subprocess.run(
        [docker_compose, "config", "-q"], cwd=project_dir, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_resolved_services_have_the_shape_we_run(docker_compose: str, project_dir: Path):
    result = subprocess.run(
        [docker_compose, "config"], cwd=project_dir, capture_output=True, text=True, timeout=120, check=True
    )
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(LONG_RUNNING) <= set(services)
    for name in LONG_RUNNING:
        assert "test" in services[name].get("healthcheck", {}), f"{name} has no healthcheck"

    worker, gpu = services["worker"]["command"], services["worker-gpu"]["command"]
    assert worker[worker.index("--queues") + 1] == "default"
    assert gpu[gpu.index("--queues") + 1] == "gpu"
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    assert "gunicorn" in services["web"]["command"]
    # Exactly one beat (the sweepers and lease expiry), and no worker embeds another one (-B).
    beats = [name for name, svc in services.items() if "beat" in (svc.get("command") or [])]
    assert beats == ["beat"], beats
    assert not any("-B" in (svc.get("command") or []) for svc in services.values())
    assert services["beat"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"

    for name in ("web", "worker", "worker-gpu"):
        needs = services[name]["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy"
        assert needs["redis"]["condition"] == "service_healthy"
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"

    volume = services["postgres"]["volumes"][0]
    if isinstance(volume, str):  # docker-compose 1.x prints the short form "source:target:mode"
        source, target = volume.split(":")[:2]
    else:
        source, target = volume["source"], volume["target"]
    assert target == "/var/lib/postgresql/data" and source in config["volumes"]
    # env_file contents are resolved into each service's environment.
    assert services["web"]["environment"]["DATABASE_URL"] == env_example()["DATABASE_URL"]


def test_env_example_is_consistent():
    env = env_example()
    for key in ("DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "POSTGRES_USER", "POSTGRES_PASSWORD"):
        assert env.get(key), f".env.example lacks {key}"
    database = urlparse(env["DATABASE_URL"])
    assert (database.hostname, database.username, database.password, database.path.lstrip("/")) == (
        "postgres",
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        env["POSTGRES_DB"],
    )
    assert urlparse(env["CELERY_BROKER_URL"]).hostname == "redis"
