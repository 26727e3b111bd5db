"""Sustained next-pair + submit throughput over HTTP (gunicorn) against PostgreSQL with 100k pairs loaded,
and Label Studio on the same workload in the same run.

    python bench/bench_labeling.py                  # 100k pairs, 24 labelers, 60 s measured, then Label Studio
    python bench/bench_labeling.py --no-label-studio
Prints judgments/s, p50/p99 latency per request type and per judgment, checks the stored data, and prints the
ratio to Label Studio's judgments/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from label_studio_side import (  # noqa: E402
    label_studio_data_dir,
    label_studio_database,
    label_studio_env,
    label_studio_load,
    label_studio_prepare,
    label_studio_server,
)
from labeling_clients import ClientLog, clients_run, server_wait  # noqa: E402
from labeling_setup import (  # noqa: E402
    database_drop,
    database_migrate,
    database_recreate,
    labelers_create,
    pairs_load,
)

TARGET_JUDGMENTS_PER_S = 200
TARGET_P99_MS = 150
SLUG = "bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--db-name", default="arbiter_bench", help="scratch database, dropped and recreated")
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument(
        "--through-service",
        type=int,
        default=10_000,
        help="pairs loaded through the validated import service (the rest by bulk SQL)",
    )
    parser.add_argument("--labelers", type=int, default=24, help="concurrent simulated labelers")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring starts")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--think-ms", type=float, default=0.0, help="mean pause between next and submit")
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--gold-rate", type=float, default=0.05)
    parser.add_argument(
        "--two-requests",
        action="store_true",
        help="each judgment as a next-pair request and a submit (default: the submit carries the next assignment)",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the scratch database for inspection")
    parser.add_argument("--no-label-studio", action="store_true", help="measure Arbiter alone")
    parser.add_argument("--ls-venv", default=str(REPO_ROOT / "bench" / "out" / "ls-venv"), help="Label Studio's venv")
    parser.add_argument("--ls-db-name", default="arbiter_bench_ls", help="Label Studio's scratch database")
    parser.add_argument("--ls-tasks", type=int, default=None, help="Label Studio tasks (default: --pairs)")
    parser.add_argument("--ls-port", type=int, default=8766)
    return parser.parse_args()


def bench_env(args: argparse.Namespace, data_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="arbiter-bench-secret-key-not-for-production-use-0123456789",
        DJANGO_SECURE_COOKIES="0",
        DATABASE_URL=f"{args.pg}/{args.db_name}",
        DATABASE_CONN_MAX_AGE="600",
        ARBITER_DATA_DIR=data_dir,
        ARBITER_LOG_LEVEL="ERROR",
        CELERY_TASK_ALWAYS_EAGER="1",
        HF_HUB_OFFLINE="1",
        # Plain HTTP on 127.0.0.1: no HTTPS redirect or HSTS (the API throttles stay on, as in production).
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_HSTS_SECONDS="0",
        # WhiteNoise warns that collectstatic never ran; the bench serves no static files.
        PYTHONWARNINGS="ignore:No directory at",
    )
    return env


def server_start(args: argparse.Namespace, env: dict[str, str], token: str) -> subprocess.Popen:
    worker_class = ["-k", "gthread", "--threads", str(args.threads)] if args.threads > 1 else ["-k", "sync"]
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "-b",
        f"127.0.0.1:{args.port}",
        "-w",
        str(args.workers),
        *worker_class,
        "--backlog",
        "2048",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=REPO_ROOT, env=env)
    try:
        server_wait(
            server,
            name="gunicorn",
            url=f"http://127.0.0.1:{args.port}/api/v1/me/",
            token=token,
            timeout_s=60,
            poll_s=0.3,
        )
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from exc
    return server


def _proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def machine_busy_s() -> float:
    """CPU seconds all cores have spent busy since boot (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def server_cpu_s(server_pid: int, db_name: str) -> tuple[float, float]:
    """CPU seconds used so far by gunicorn (master + workers) and by the PostgreSQL backends of the bench database."""
    web = pg = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if int(entry.name) == server_pid or ppid == server_pid:
            web += _proc_cpu_s(int(entry.name))
        elif cmdline.startswith("postgres:") and f" {db_name} " in cmdline:
            pg += _proc_cpu_s(int(entry.name))
    return web, pg


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latency_line(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<22} no samples"
    return (
        f"  {name:<22} n={len(values):>6}  p50={percentile(values, 50):6.1f} ms  p90={percentile(values, 90):6.1f} ms"
        f"  p99={percentile(values, 99):6.1f} ms  max={max(values):6.1f} ms  mean={statistics.fmean(values):6.1f} ms"
    )


def next_pair_explain(*, project, labeler) -> tuple[str, int]:
    """EXPLAIN ANALYZE of the pair-locking query one next-pair call runs, and how many queries the call makes."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from labeling.services.assignment import assignment_next

    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            assignment_next(project=project, labeler=labeler)
        lock_sql = [q["sql"] for q in queries if "SKIP LOCKED" in q["sql"] and "submitted_count" in q["sql"]]
        plan = ""
        if lock_sql:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + lock_sql[-1])
                plan = "\n".join("    " + row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan, len(queries)


def integrity_check(*, project, log: ClientLog, tokens: list[str]) -> list[str]:
    """Problems found in the stored data; empty when overlap, once-per-labeler and every 2xx submit hold."""
    from django.db.models import Count, F, Q

    from labeling.models import Assignment, AssignmentStatus, Comparison, Pair

    problems = []
    over = (
        Pair.objects.filter(project=project, is_gold=False)
        .annotate(n=Count("comparisons", filter=Q(comparisons__is_current=True)))
        .filter(n__gt=project.overlap)
        .count()
    )
    if over:
        problems.append(f"{over} pairs have more than {project.overlap} judgments")
    twice = (
        Assignment.objects.filter(pair__project=project)
        .values("pair_id", "labeler_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    if twice:
        problems.append(f"{twice} (pair, labeler) combinations were handed out more than once")
    from labeling.services.accounts import token_user

    user_of_token = {key: token_user(key=key).pk for key in tokens}
    stored = {
        c: (a, u)
        for c, a, u in Comparison.objects.filter(pair__project=project).values_list("id", "assignment_id", "labeler_id")
    }
    missing = [c for i, a, c in log.stored if stored.get(c) != (a, user_of_token[tokens[i]])]
    if missing:
        problems.append(f"{len(missing)} acknowledged submits are not stored as acknowledged (e.g. {missing[:5]})")
    # A submit whose connection broke may or may not have committed; every other extra row is a defect.
    unknown = log.statuses.get("submit 0", 0)
    if not len(log.stored) <= len(stored) <= len(log.stored) + unknown:
        problems.append(
            f"{len(stored)} comparisons stored but {len(log.stored)} submits acknowledged ({unknown} unanswered)"
        )
    drift = (
        Pair.objects.filter(project=project)
        .annotate(
            subs=Count("comparisons", filter=Q(comparisons__is_current=True), distinct=True),
            leases=Count("assignments", filter=Q(assignments__status=AssignmentStatus.OPEN), distinct=True),
        )
        .exclude(submitted_count=F("subs"), leased_count=F("leases"))
        .count()
    )
    if drift:
        problems.append(f"{drift} pairs have submitted/leased counters that disagree with their rows")
    return problems


@dataclass
class Measurement:
    log: ClientLog
    web_cpu_s: float
    pg_cpu_s: float
    busy_s: float
    wall_s: float


def clients_measure(
    args: argparse.Namespace,
    *,
    server: subprocess.Popen,
    db_name: str,
    tokens: list[str],
    slug: str,
    label_studio: bool = False,
) -> Measurement:
    """Run the labelers against `server` for the warm-up and the measured window, then stop the server."""
    log = ClientLog()
    busy_before, wall_before = machine_busy_s(), time.perf_counter()
    web_cpu_before, pg_cpu_before = server_cpu_s(server.pid, db_name)
    try:
        groups = [list(enumerate(tokens))[i :: args.client_processes] for i in range(args.client_processes)]
        jobs = dict(
            port=args.ls_port if label_studio else args.port,
            slug=slug,
            start_at=time.time() + 1.0,
            warmup_s=args.warmup,
            duration_s=args.duration,
            think_s=args.think_ms / 1000,
            carried=not args.two_requests,
            label_studio=label_studio,
        )
        with multiprocessing.get_context("fork").Pool(args.client_processes) as pool:
            for part in pool.starmap(_run_group, [(group, jobs) for group in groups]):
                log.merge(part)
        web_cpu, pg_cpu = server_cpu_s(server.pid, db_name)
        busy, wall = machine_busy_s() - busy_before, time.perf_counter() - wall_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    return Measurement(log, web_cpu - web_cpu_before, pg_cpu - pg_cpu_before, busy, wall)


def measured_report(args: argparse.Namespace, measured: Measurement) -> float:
    """Print the measured window's figures; returns judgments/s."""
    log, web_cpu, pg_cpu = measured.log, measured.web_cpu_s, measured.pg_cpu_s
    throughput = log.judgments_in_window / args.duration
    print(f"  judgments/s            {throughput:8.1f}")
    print(latency_line("next-pair", log.next_ms))
    print(latency_line("submit", log.submit_ms))
    print(latency_line("per judgment", log.judgment_ms))
    print(f"  responses              {dict(sorted(log.statuses.items()))}")
    judged = max(len(log.stored), 1)
    cpu_ms = (web_cpu + pg_cpu + log.cpu_s) * 1000 / judged
    print(
        f"  CPU per judgment       {cpu_ms:6.1f} ms  (web {web_cpu * 1000 / judged:.1f}, postgres "
        f"{pg_cpu * 1000 / judged:.1f}, clients {log.cpu_s * 1000 / judged:.1f}) -> at most "
        f"{os.cpu_count() * 1000 / cpu_ms:.0f} judgments/s on {os.cpu_count()} otherwise idle cores"
    )
    other = max(0.0, measured.busy_s - web_cpu - pg_cpu - log.cpu_s) / measured.wall_s
    print(
        f"  other processes        {other:.2f} of {os.cpu_count()} cores busy with work outside the bench"
        + ("  <- shared CPUs: throughput and latency are understated" if other > 0.25 else "")
    )
    print(f"  load average           {' / '.join(f'{x:.2f}' for x in os.getloadavg())} (1 / 5 / 15 min)")
    if log.queue_empty:
        print(f"  {log.queue_empty} labelers ran out of pairs before the end")
    return throughput


def label_studio_measure(args: argparse.Namespace, admin_url: str) -> float | None:
    """Label Studio's judgments/s on the same workload, or None (and why) when it cannot run here."""
    ls, why = label_studio_prepare(Path(args.ls_venv))
    if ls is None:
        print(f"\nLabel Studio: not measured ({why}); Arbiter's figures stand alone.")
        return None
    pg = urllib.parse.urlsplit(args.pg)
    env = label_studio_env(
        pg_host=pg.hostname or "127.0.0.1",
        pg_port=pg.port or 5432,
        db_name=args.ls_db_name,
        data_dir=label_studio_data_dir(),
    )
    tasks = args.ls_tasks or args.pairs
    try:
        label_studio_database(ls=ls, admin_url=admin_url, db_name=args.ls_db_name, env=env)
        started = time.perf_counter()
        loaded = label_studio_load(ls=ls, env=env, tasks=tasks, labelers=args.labelers, overlap=args.overlap)
        print(
            f"\nLabel Studio {ls.version}: {tasks:,} pairwise tasks (overlap {args.overlap}) and "
            f"{args.labelers} labelers loaded in {time.perf_counter() - started:.0f} s; gunicorn {args.workers} "
            f"sync workers, PostgreSQL database {args.ls_db_name!r} ...",
            flush=True,
        )
        server = label_studio_server(ls=ls, env=env, port=args.ls_port, workers=args.workers, token=loaded["tokens"][0])
        measured = clients_measure(
            args,
            server=server,
            db_name=args.ls_db_name,
            tokens=loaded["tokens"],
            slug=str(loaded["project"]),
            label_studio=True,
        )
    except RuntimeError as exc:
        print(f"\nLabel Studio: not measured ({exc}); Arbiter's figures stand alone.")
        return None
    finally:
        if not args.keep_db:
            database_drop(admin_url=admin_url, name=args.ls_db_name)
    print("Label Studio results (measured window only; GET next + POST annotation per judgment):")
    return measured_report(args, measured)


def main() -> int:
    args = parse_args()
    total_started = time.perf_counter()
    data_dir = tempfile.mkdtemp(prefix="arbiter-bench-")
    env = bench_env(args, data_dir)
    os.environ.update(env)
    admin_url = f"{args.pg}/postgres"

    print(f"Scratch database {args.db_name!r}: recreate and migrate ...", flush=True)
    database_recreate(admin_url=admin_url, name=args.db_name)
    database_migrate(env=env)

    import django

    django.setup()
    from django.db import connections
    from tqdm import tqdm

    from labeling.models import Comparison, Pair
    from labeling.services.projects import project_create

    project = project_create(slug=SLUG, overlap=args.overlap, gold_rate=args.gold_rate, lease_seconds=900)
    with tqdm(total=args.pairs, desc="Loading pairs", unit="pair") as bar:
        timings = pairs_load(
            project=project, total=args.pairs, through_service=args.through_service, progress=bar.update
        )
    gold = Pair.objects.filter(project=project, is_gold=True).count()
    print(
        f"Loaded {Pair.objects.filter(project=project).count():,} pairs ({gold:,} gold): "
        f"{timings.service_pairs:,} via the import service in {timings.service_s:.1f} s "
        f"({timings.service_pairs / max(timings.service_s, 1e-9):,.0f} pairs/s), "
        f"{timings.sql_pairs:,} via bulk SQL in {timings.sql_s:.1f} s "
        f"({timings.sql_pairs / max(timings.sql_s, 1e-9):,.0f} pairs/s)",
        flush=True,
    )
    tokens = labelers_create(project=project, count=args.labelers + 1)
    probe_token, tokens = tokens[-1], tokens[:-1]

    from labeling.services.accounts import token_user

    probe_labeler = token_user(key=probe_token)
    plan, next_queries = next_pair_explain(project=project, labeler=probe_labeler)
    print(f"\nNext-pair call on a fresh project: {next_queries} SQL queries; pair-locking query plan:\n{plan}")
    connections.close_all()

    server = server_start(args, env, probe_token)
    print(
        f"\ngunicorn: {args.workers} workers x {args.threads} threads; {args.labelers} labelers in "
        f"{args.client_processes} client processes; warm-up {args.warmup:.0f} s, measuring {args.duration:.0f} s ...",
        flush=True,
    )
    measured = clients_measure(args, server=server, db_name=args.db_name, tokens=tokens, slug=SLUG)
    log = measured.log
    print("\nArbiter results (measured window only):")
    throughput = measured_report(args, measured)
    judgment_p99 = percentile(log.judgment_ms, 99)

    plan_after, _ = next_pair_explain(project=project, labeler=probe_labeler)
    done = Pair.objects.filter(project=project, is_gold=False, submitted_count__gte=project.overlap).count()
    print(
        f"\nAfter the run: {Comparison.objects.filter(pair__project=project).count():,} comparisons, "
        f"{done:,} pairs at full overlap; pair-locking query plan now:\n{plan_after}"
    )
    problems = integrity_check(project=project, log=log, tokens=tokens)
    print(
        "\nIntegrity: "
        + (
            "OK (overlap respected, no labeler twice on a pair, every 2xx submit stored, counters consistent)"
            if not problems
            else "FAILED\n  " + "\n  ".join(problems)
        )
    )
    met = throughput >= TARGET_JUDGMENTS_PER_S and judgment_p99 < TARGET_P99_MS
    print(
        f"Target (>= {TARGET_JUDGMENTS_PER_S} judgments/s and per-judgment p99 < {TARGET_P99_MS} ms): "
        f"{'met' if met else 'NOT met'}"
    )
    connections.close_all()
    if not args.keep_db:
        database_drop(admin_url=admin_url, name=args.db_name)
    if not args.no_label_studio:
        ls_throughput = label_studio_measure(args, admin_url)
        if ls_throughput:
            print(
                f"\nArbiter {throughput:.1f} judgments/s vs Label Studio {ls_throughput:.1f} judgments/s in the same "
                f"run: {throughput / ls_throughput:.1f}x"
            )
    print(f"Total bench time {time.perf_counter() - total_started:.0f} s")
    return 1 if problems else 0


def _run_group(group: list[tuple[int, str]], jobs: dict) -> ClientLog:
    return clients_run(tokens=group, **jobs)


if __name__ == "__main__":
    sys.exit(main())
