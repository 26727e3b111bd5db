"""Tests: PostgreSQL and Redis when DATABASE_URL / CELERY_BROKER_URL point there (as .ci/run does)."""

import os

from .base import *  # noqa: F403
from .base import DATABASES
from .env import DATA_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests change tokens and users in the database directly and expect the next request to see it; the tests of
# the token cache turn it on themselves.
ARBITER_TOKEN_CACHE_SECONDS = 0
ARTIFACT_DIR = str(DATA_DIR / "test-artifacts")
EXPORT_DIR = str(DATA_DIR / "test-exports")
# Serve static files from the apps directly; tests never run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # One test database per pytest process, so concurrent runs on one server never drop each other's database.
    # Subprocesses (a Celery worker under test) inherit the parent's name through ARBITER_TEST_DB_OWNER_PID.
    owner = os.environ.setdefault("ARBITER_TEST_DB_OWNER_PID", str(os.getpid()))
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{owner}"}
