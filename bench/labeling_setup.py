"""Scratch PostgreSQL database for the labeling benchmark: create, migrate, load pairs fast, make labelers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

REPO_ROOT = Path(__file__).resolve().parent.parent
IMPORT_CHUNK = 5_000
# One pair in GOLD_EVERY is a gold pair (known answer "a"), mixed into queues at the project's gold rate.
GOLD_EVERY = 100


@dataclass(frozen=True)
class LoadTimings:
    service_pairs: int
    service_s: float
    sql_pairs: int
    sql_s: float


def database_recreate(*, admin_url: str, name: str) -> None:
    """Drop and create `name` (FORCE ends sessions left over from an interrupted run)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(*, admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_migrate(*, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO_ROOT, env=env, check=True)


def _bench_line(i: int) -> str:
    gold = {"gold_choice": "a"} if i % GOLD_EVERY == 0 else {}
    return json.dumps(
        {
            "prompt": f"Bench prompt {i}: " + f"Summarise the passage about topic {i} in one sentence. " * 8,
            "response_a": f"Answer A to {i}: " + "a plain, careful summary of the passage. " * 29,
            "response_b": f"Answer B to {i}: " + "a shorter, looser take on the passage. " * 30,
            "policy_a": "bench-policy-a",
            "policy_b": "bench-policy-b",
            **gold,
        }
    )


# Answers of about 1,200 characters, as in the Label Studio leg. The same rows _bench_line describes, generated inside PostgreSQL; hashes as labeling.services.imports.content_hash.
_SQL_HASH = "encode(sha256(convert_to({col}, 'UTF8') || '\\x1f'::bytea), 'hex')"
_SQL_PROMPTS = f"""
INSERT INTO labeling_prompt (project_id, text, metadata, content_hash, created_at)
SELECT %(project)s, t.text, '{{}}'::jsonb, {_SQL_HASH.format(col="t.text")}, now()
FROM (SELECT 'Bench prompt ' || g || ': ' || repeat('Summarise the passage about topic ' || g || ' in one sentence. ', 8)
        AS text FROM generate_series(%(lo)s::int, %(hi)s::int) g) t
"""
_SQL_SAMPLES = f"""
INSERT INTO labeling_sample (prompt_id, policy_id, text, content_hash, generation_params, created_at)
SELECT s.prompt_id, s.policy_id, s.text, {_SQL_HASH.format(col="s.text")}, '{{}}'::jsonb, now()
FROM (SELECT p.id AS prompt_id, %(policy_a)s AS policy_id,
             'Answer A to ' || split_part(substr(p.text, 14), ':', 1) || ': '
             || repeat('a plain, careful summary of the passage. ', 29) AS text
      FROM labeling_prompt p WHERE p.project_id = %(project)s AND p.id > %(after)s
      UNION ALL
      SELECT p.id, %(policy_b)s,
             'Answer B to ' || split_part(substr(p.text, 14), ':', 1) || ': '
             || repeat('a shorter, looser take on the passage. ', 30)
      FROM labeling_prompt p WHERE p.project_id = %(project)s AND p.id > %(after)s) s
"""
_SQL_PAIRS = """
INSERT INTO labeling_pair (project_id, prompt_id, sample_a_id, sample_b_id, batch, is_gold, gold_choice,
                           submitted_count, leased_count, created_at)
SELECT %(project)s, p.id, a.id, b.id, '', n %% %(gold_every)s::int = 0,
       CASE WHEN n %% %(gold_every)s::int = 0 THEN 'a' ELSE '' END, 0, 0, now()
FROM (SELECT id, split_part(substr(text, 14), ':', 1)::int AS n FROM labeling_prompt
      WHERE project_id = %(project)s AND id > %(after)s) p
JOIN labeling_sample a ON a.prompt_id = p.id AND a.policy_id = %(policy_a)s
JOIN labeling_sample b ON b.prompt_id = p.id AND b.policy_id = %(policy_b)s
"""


def pairs_load(*, project, total: int, through_service: int, progress) -> LoadTimings:
    """The first `through_service` pairs go through the validated import service (the reference rate);
    the rest are generated in PostgreSQL in one statement per table."""
    from django.db import connection, transaction

    from labeling.models import Policy, Prompt
    from labeling.services.imports import pairs_import

    through_service = min(through_service, total)
    started = time.perf_counter()
    for lo in range(0, through_service, IMPORT_CHUNK):
        hi = min(lo + IMPORT_CHUNK, through_service)
        pairs_import(project=project, lines=[_bench_line(i) for i in range(lo, hi)])
        progress(hi - lo)
    service_s = time.perf_counter() - started

    started = time.perf_counter()
    policies = dict(Policy.objects.filter(project=project).values_list("name", "id"))
    after = Prompt.objects.filter(project=project).order_by("-id").values_list("id", flat=True).first() or 0
    params = {
        "project": project.id,
        "lo": through_service,
        "hi": total - 1,
        "after": after,
        "policy_a": policies["bench-policy-a"],
        "policy_b": policies["bench-policy-b"],
        "gold_every": GOLD_EVERY,
    }
    if total > through_service:
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in (_SQL_PROMPTS, _SQL_SAMPLES, _SQL_PAIRS):
                cursor.execute(statement, params)
        progress(total - through_service)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return LoadTimings(through_service, service_s, total - through_service, time.perf_counter() - started)


def labelers_create(*, project, count: int) -> list[str]:
    """Labelers who are members of the project; returns their API tokens. A fast hasher: setup, not the bench."""
    from django.test import override_settings

    from labeling.services.accounts import token_create, user_create
    from labeling.services.projects import project_add_member

    tokens = []
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for i in range(count):
            user = user_create(username=f"bench-labeler-{i}", password="bench-password", role="labeler")
            project_add_member(project=project, user=user)
            tokens.append(token_create(user=user).key)
    return tokens
