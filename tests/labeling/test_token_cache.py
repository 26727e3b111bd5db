"""The per-process token cache: a checked token costs no query for a few seconds; revoking it here ends it at
once, and revoked elsewhere (another web process) it stops working when the window closes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from labeling.services.accounts import token_create, token_revoke, user_deactivate
from labeling.services.token_cache import token_cache

pytestmark = pytest.mark.django_db
WINDOW_S = 5


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(settings, monkeypatch):
    settings.ARBITER_TOKEN_CACHE_SECONDS = WINDOW_S
    fake = FakeClock()
    monkeypatch.setattr(token_cache, "clock", fake)
    token_cache.clear()
    yield fake
    token_cache.clear()


def test_a_checked_token_is_not_read_again_within_the_window(labeler, clock):
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token_create(user=labeler).key}")
    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/me/").status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert client.get("/api/v1/me/").json() == {"username": labeler.username, "role": "labeler"}
    assert len(first) == 1 and len(again) == 0


def test_a_token_revoked_elsewhere_stops_working_within_the_window(labeler, clock):
    issued = token_create(user=labeler)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert client.get("/api/v1/me/").status_code == 200
    # Another web process revokes it: this process's memory is not told.
    AuthToken.objects.filter(token_key=issued.token_key).delete()
    clock.t += WINDOW_S - 0.5
    assert client.get("/api/v1/me/").status_code == 200
    clock.t += 1
    assert client.get("/api/v1/me/").status_code == 401


def test_revoking_or_deactivating_in_this_process_takes_effect_at_once(labeler, clock):
    issued = token_create(user=labeler)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert client.get("/api/v1/me/").status_code == 200
    token_revoke(user=labeler, token_key=issued.token_key)
    assert client.get("/api/v1/me/").status_code == 401

    other = APIClient(HTTP_AUTHORIZATION=f"Token {token_create(user=labeler).key}")
    assert other.get("/api/v1/me/").status_code == 200
    user_deactivate(user=labeler)
    assert other.get("/api/v1/me/").status_code == 401


def test_no_window_means_every_request_reads_the_token(labeler, clock, settings):
    settings.ARBITER_TOKEN_CACHE_SECONDS = 0
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token_create(user=labeler).key}")
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/me/").status_code == 200
        assert len(queries) == 1
