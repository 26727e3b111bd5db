"""Shared fixtures: users of each role, a project with pairs, API clients."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from labeling.models import Project, Role
from labeling.services.accounts import user_create
from labeling.services.imports import pairs_import
from labeling.services.projects import project_add_member, project_create

REPO_ROOT = Path(__file__).resolve().parent.parent
# Data files the tests share, shipped with the repository (tests/fixtures/README.md says where they come from).
SHARED_DATA = REPO_ROOT / "tests" / "fixtures"
PASSWORD = "test-password-1"
_counter = itertools.count()


@pytest.fixture
def make_user(db):
    def make(role: str = Role.LABELER, username: str | None = None):
        return user_create(username=username or f"{role}-{next(_counter)}", password=PASSWORD, role=role)

    return make


@pytest.fixture
def researcher(make_user):
    return make_user(Role.RESEARCHER)


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def labeler(make_user):
    return make_user(Role.LABELER)


def pair_lines(n: int, *, prefix: str = "prompt", gold_every: int = 0) -> list[str]:
    lines = []
    for i in range(n):
        row = {
            "prompt": f"{prefix} {i}: summarise this text about item {i}.",
            "response_a": f"summary A of {i}",
            "response_b": f"summary B of {i}",
            "policy_a": "policy-one",
            "policy_b": "policy-two",
        }
        if gold_every and i % gold_every == 0:
            row["gold_choice"] = "a"
        lines.append(json.dumps(row))
    return lines


@pytest.fixture
def make_project(researcher):
    def make(*, slug: str | None = None, pairs: int = 10, members=(), **settings) -> Project:
        project = project_create(slug=slug or f"project-{next(_counter)}", created_by=researcher, **settings)
        if pairs:
            pairs_import(project=project, lines=pair_lines(pairs))
        for member in members:
            project_add_member(project=project, user=member)
        return project

    return make


@pytest.fixture
def api_client_for():
    def client(user) -> APIClient:
        c = APIClient()
        c.force_authenticate(user=user)
        return c

    return client


@pytest.fixture(scope="session", autouse=True)
def _end_stray_test_database_sessions(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end sessions a live server's request threads left open.

    A browser can have a request in flight when a test ends; its server thread keeps a connection,
    and PostgreSQL refuses to drop a database that others are connected to.
    """
    yield
    from django.db import connection

    # Runs that used no database never switched the connection to a test database: nothing to end.
    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith("test_"):
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
