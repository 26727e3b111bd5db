"""Where a judgment's CPU goes in the web process: the labeling loop run in-process (Django's test client,
production settings, token authentication, PostgreSQL) under cProfile, per request style.

    python bench/profile_labeling.py                    # 20k pairs, 300 judgments per style
    python bench/profile_labeling.py --judgments 1000 --top 25

Prints, per style (next + submit, or the submit carrying the next assignment): CPU ms and SQL statements per
judgment, and the profile's own time grouped by package (ORM query building, DRF, psycopg, ...).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_labeling import bench_env  # noqa: E402
from labeling_clients import random_judgment  # noqa: E402
from labeling_setup import database_drop, database_migrate, database_recreate, labelers_create, pairs_load  # noqa: E402

# Packages by path fragment, most specific first: the rows of the "where the ms go" table.
GROUPS = [
    ("django/db/models/sql", "ORM: building SQL"),
    ("django/db/models", "ORM: models, querysets, rows"),
    ("django/db/backends", "Django DB backend (cursor wrapper)"),
    ("psycopg", "psycopg (driver: adapt, send, parse rows)"),
    ("rest_framework", "DRF (request, serializers, throttles, render)"),
    ("drf_spectacular", "drf-spectacular"),
    ("knox", "knox (token digest)"),
    ("django/middleware", "Django middleware"),
    ("django/contrib", "django.contrib (sessions, auth, messages)"),
    ("django/test", "test client (not in a real server)"),
    ("django/", "Django (request, urls, other)"),
    ("labeling/", "Arbiter labeling code"),
    ("json", "json"),
]


def group_of(filename: str) -> str:
    for fragment, name in GROUPS:
        if fragment in filename:
            return name
    return "other (stdlib, builtins)"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="arbiter_bench_profile")
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--labelers", type=int, default=8)
    parser.add_argument("--judgments", type=int, default=300, help="judgments profiled per style")
    parser.add_argument("--top", type=int, default=12, help="functions listed by own time")
    return parser.parse_args()


def loop(*, clients, slug: str, judgments: int, carried: bool, rng) -> tuple[float, int, int]:
    """CPU seconds, SQL statements and transactions for `judgments` judgments spread over the clients."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pending: dict[int, dict] = {}
    statements = transactions = 0
    started = time.process_time()
    for n in range(judgments):
        i = n % len(clients)
        client = clients[i]
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries:
            item = pending.pop(i, None)
            if item is None:
                item = client.post(f"/api/v1/projects/{slug}/next/", {}, content_type="application/json").json()
            body = random_judgment(rng)
            if carried:
                body["next"] = {}
            answer = client.post(
                f"/api/v1/assignments/{item['assignment_id']}/submit/", body, content_type="application/json"
            ).json()
            if carried and answer.get("next"):
                pending[i] = answer["next"]
        statements += sum(not q["sql"].startswith(("BEGIN", "COMMIT")) for q in queries)
        transactions += sum(q["sql"] == "COMMIT" for q in queries)
    return time.process_time() - started, statements, transactions


def main() -> int:
    import random

    args = parse_args()
    env = bench_env(args, tempfile.mkdtemp(prefix="arbiter-profile-"))
    env["ARBITER_THROTTLE_USER"] = "1000000/min"  # one process makes every labeler's requests here
    os.environ.update(env)
    admin_url = f"{args.pg}/postgres"
    database_recreate(admin_url=admin_url, name=args.db_name)
    database_migrate(env=env)
    import django

    django.setup()
    from django.db import connections
    from django.test import Client

    from labeling.services.projects import project_create

    project = project_create(slug="profile", overlap=3, gold_rate=0.05, lease_seconds=900)
    pairs_load(project=project, total=args.pairs, through_service=min(2_000, args.pairs), progress=lambda n: None)
    tokens = labelers_create(project=project, count=args.labelers * 2)
    rng = random.Random(0)
    try:
        for style, carried, part in (
            ("next + submit", False, tokens[: args.labelers]),
            ("submit carrying next", True, tokens[args.labelers :]),
        ):
            clients = [Client(HTTP_AUTHORIZATION=f"Token {t}", SERVER_NAME="127.0.0.1") for t in part]
            loop(clients=clients, slug="profile", judgments=len(clients) * 3, carried=carried, rng=rng)  # warm
            profile = cProfile.Profile(time.process_time)  # CPU time: waiting on PostgreSQL is not counted
            profile.enable()
            _, statements, transactions = loop(
                clients=clients, slug="profile", judgments=args.judgments, carried=carried, rng=rng
            )
            profile.disable()
            cpu_plain, _, _ = loop(clients=clients, slug="profile", judgments=args.judgments, carried=carried, rng=rng)
            stats = pstats.Stats(profile)
            by_group: dict[str, float] = defaultdict(float)
            for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
                by_group[group_of(filename)] += own
            total = sum(by_group.values())
            print(
                f"\n== {style}: {cpu_plain * 1000 / args.judgments:.1f} ms CPU per judgment without the profiler, "
                f"{statements / args.judgments:.1f} SQL statements + {transactions / args.judgments:.1f} transactions "
                "(BEGIN ... COMMIT) per judgment"
            )
            print("   own time under cProfile, by package:")
            for name, own in sorted(by_group.items(), key=lambda kv: -kv[1]):
                print(f"   {own * 1000 / args.judgments:6.2f} ms  {100 * own / total:4.0f} %  {name}")
            stats.sort_stats("tottime").print_stats(args.top)
    finally:
        connections.close_all()
        database_drop(admin_url=admin_url, name=args.db_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
