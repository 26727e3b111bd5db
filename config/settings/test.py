"""Tests: PostgreSQL and Redis when DATABASE_URL / CELERY_BROKER_URL point there (as .ci/run does)."""
from .base import *  # noqa: F401,F403
from .env import DATA_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ARTIFACT_DIR = str(DATA_DIR / "test-artifacts")
EXPORT_DIR = str(DATA_DIR / "test-exports")
