"""Accounts and authentication: login lockout, API throttles, password strength, expiring revocable tokens,
and a clean `check --deploy` with production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from common.errors import DomainError
from labeling.models import Role
from labeling.services.accounts import token_create, user_create, user_deactivate
from tests.conftest import PASSWORD, REPO_ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


def log_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_the_login_form_locks_out_after_repeated_wrong_passwords(labeler, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        refused = log_in(client, labeler.username, "wrong-password-guess")
        assert refused.status_code == 200 and b"did not match" in refused.content
    locked = log_in(client, labeler.username, "wrong-password-guess")
    assert locked.status_code == 429 and b"Too many failed logins" in locked.content
    # Now even the right password is refused, and no session is opened.
    right = log_in(client, labeler.username, PASSWORD)
    assert right.status_code == 429
    assert client.get("/api/v1/me/").status_code == 401
    # Another account from the same address is not locked by those failures.
    other = user_create(username="another-labeler", password=PASSWORD, role=Role.LABELER)
    assert log_in(Client(), other.username, PASSWORD).status_code == 302


def test_a_successful_login_resets_the_count(labeler, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, labeler.username, "wrong-password-guess")
    assert log_in(client, labeler.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, labeler.username, "wrong-password-guess").status_code == 200
    assert log_in(client, labeler.username, PASSWORD).status_code == 302


def test_the_admin_login_is_locked_out_too(admin_user, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": admin_user.username, "password": "wrong-password-guess"})
    response = client.post("/admin/login/?next=/admin/", {"username": admin_user.username, "password": PASSWORD})
    assert response.status_code == 429


def test_authenticated_api_throttle_is_far_above_labeling_rates(labeler, settings):
    rate, period = settings.API_THROTTLE_USER.split("/")
    assert period.startswith("m") and int(rate) >= 10 * 4 * 60 // 2  # 5x the bench's 4 req/s per labeler
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token_create(user=labeler).key}")
    statuses = [client.get("/api/v1/me/").status_code for _ in range(int(rate))]
    assert set(statuses) == {200}
    throttled = client.get("/api/v1/me/")
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled" and int(throttled["Retry-After"]) > 0


def test_anonymous_api_requests_are_throttled(settings):
    rate = int(settings.API_THROTTLE_ANON.split("/")[0])
    client = APIClient()
    assert {client.get("/api/v1/docs/").status_code for _ in range(rate)} == {200}
    assert client.get("/api/v1/docs/").status_code == 429


@pytest.mark.parametrize(
    ("username", "password", "role", "why"),
    [
        ("carol", "12345678", Role.LABELER, "too short"),
        ("carol", "password", Role.LABELER, "too common"),
        ("carol", "123456789012345", Role.LABELER, "entirely numeric"),
        ("root-admin", "weak3weak3", Role.ADMIN, "too short"),
        ("carolyn-smith", "carolyn-smith1", Role.RESEARCHER, "too similar"),
    ],
)
def test_weak_passwords_are_refused(username, password, role, why):
    with pytest.raises(DomainError, match=why):
        user_create(username=username, password=password, role=role)
    with pytest.raises(CommandError, match=why):
        call_command("create_user", username, role=role, password=password, stdout=StringIO())


def test_the_demo_and_test_passwords_pass_the_validators():
    user_create(username="labeler", password="arbiter-demo", role=Role.LABELER)
    user_create(username="admin", password="arbiter-demo", role=Role.ADMIN)
    user_create(username="bench-labeler-0", password="bench-password", role=Role.LABELER)


def test_create_user_prints_a_token_once_and_me_never_shows_it():
    out = StringIO()
    call_command("create_user", "dora", role=Role.LABELER, password=PASSWORD, stdout=out)
    key = out.getvalue().split("API token ")[1].split()[0]
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200 and me.json() == {"username": "dora", "role": "labeler"}
    assert key not in me.content.decode()
    # Stored as a digest only: the key is nowhere in the table, and listing tokens never shows it.
    assert not AuthToken.objects.filter(digest=key).exists()
    listed = client.get("/api/v1/tokens/")
    assert listed.status_code == 200 and key not in listed.content.decode()
    assert [t["token_key"] for t in listed.json()] == [key[:15]]


def test_tokens_are_created_revoked_and_expire(labeler):
    session = APIClient()
    session.force_login(labeler)
    created = session.post("/api/v1/tokens/")
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"key", "token_key", "created", "expiry"} and body["expiry"]
    client = APIClient(HTTP_AUTHORIZATION=f"Token {body['key']}")
    assert client.get("/api/v1/me/").status_code == 200
    assert session.delete(f"/api/v1/tokens/{body['token_key']}/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401
    assert session.delete(f"/api/v1/tokens/{body['token_key']}/").status_code == 404

    expiring = token_create(user=labeler)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {expiring.key}")
    assert client.get("/api/v1/me/").status_code == 200
    AuthToken.objects.filter(token_key=expiring.token_key).update(expiry=timezone.now() - timedelta(seconds=1))
    refused = client.get("/api/v1/me/")
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    assert APIClient(HTTP_AUTHORIZATION="Token " + "0" * 64).get("/api/v1/me/").status_code == 401


def test_a_deactivated_users_tokens_stop_working(labeler):
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token_create(user=labeler).key}")
    assert client.get("/api/v1/me/").status_code == 200
    user_deactivate(user=labeler)
    assert client.get("/api/v1/me/").status_code == 401


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ARBITER_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    for name in ("DJANGO_SECURE_COOKIES", "DJANGO_SECURE_SSL_REDIRECT", "DJANGO_HSTS_SECONDS", "DJANGO_DEBUG"):
        env.pop(name, None)
    check = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = subprocess.run(check, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # Plain-HTTP settings are reported, so the check does test something.
    env.update(DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_HSTS_SECONDS="0", DJANGO_SECURE_COOKIES="0")
    result = subprocess.run(check, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "SECURE_SSL_REDIRECT" in result.stderr + result.stdout


def test_token_authentication_costs_one_query(labeler, django_assert_num_queries):
    """The labeling hot path: knox's digest check, the user and their role in one read, no write."""
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token_create(user=labeler).key}")
    with django_assert_num_queries(1):
        assert client.get("/api/v1/me/").json()["role"] == "labeler"
