"""Export throughput and memory: 1,000,000 comparisons generated in PostgreSQL, exported to TRL JSONL and Parquet.

    python bench/bench_export.py                 # 1,000,000 comparisons (3 per pair), scratch database
    python bench/bench_export.py --comparisons 200000 --keep-db
Each export runs in its own process (the export_preferences command) so its peak RSS is measured alone.
The reference is the same streamed query read without aggregation or writing, timed in the same run;
a 1/5 slice of the data (one batch) shows whether memory stays flat as the export grows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from labeling_setup import database_drop, database_migrate, database_recreate  # noqa: E402

TARGET_SECONDS = 60
TARGET_RSS_MB = 500
LABELERS = 30
BATCHES = 5
SLUG = "bench-export"

GENERATE_SQL = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
SELECT '!', false, 'labeler-' || i, '', '', 'labeler' || i || '@example.org', false, true, now()
FROM generate_series(1, %(labelers)s) i;
INSERT INTO labeling_profile (user_id, role) SELECT id, 'labeler' FROM auth_user WHERE username LIKE 'labeler-%%';
INSERT INTO labeling_project (slug, name, instructions, allow_tie, allow_both_bad, confidence_min, confidence_max,
    overlap, lease_seconds, gold_rate, review_threshold, instruction_template, content_warning, created_at)
VALUES (%(slug)s, 'Export bench', '', true, true, 1, 9, 3, 900, 0, 0.7, '{text}', '', now());
INSERT INTO labeling_policy (project_id, name, kind, metadata, artifact_path, created_at)
SELECT p.id, n, 'imported', '{}', '', now() FROM labeling_project p, unnest(ARRAY['policy-one', 'policy-two']) n
WHERE p.slug = %(slug)s;
INSERT INTO labeling_prompt (project_id, text, metadata, content_hash, created_at)
SELECT p.id, 'Bench prompt ' || i || ': ' || repeat('Summarise the passage about topic ' || i || ' in one sentence. ', 6),
       '{}', md5(i::text) || md5(i::text), now()
FROM labeling_project p, generate_series(1, %(pairs)s) i WHERE p.slug = %(slug)s;
INSERT INTO labeling_sample (prompt_id, policy_id, text, content_hash, generation_params, created_at)
SELECT pr.id, po.id,
       CASE WHEN po.name = 'policy-one' THEN 'Answer A to ' || pr.id || ': ' || repeat('a plain, careful summary. ', 5)
            ELSE 'Answer B to ' || pr.id || ': ' || repeat('a shorter, looser take. ', 4) END,
       md5(pr.id::text || po.name) || md5(po.name || pr.id::text), '{}', now()
FROM labeling_prompt pr JOIN labeling_policy po ON po.project_id = pr.project_id;
INSERT INTO labeling_pair (project_id, prompt_id, sample_a_id, sample_b_id, batch, is_gold, gold_choice,
    submitted_count, leased_count, created_at)
SELECT pr.project_id, pr.id, sa.id, sb.id, 'batch-' || (pr.id %% %(batches)s), false, '', 3, 0, now()
FROM labeling_prompt pr
JOIN labeling_sample sa ON sa.prompt_id = pr.id AND sa.policy_id = (SELECT min(id) FROM labeling_policy)
JOIN labeling_sample sb ON sb.prompt_id = pr.id AND sb.policy_id = (SELECT max(id) FROM labeling_policy);
INSERT INTO labeling_assignment (pair_id, labeler_id, status, swapped, created_at, expires_at, closed_at)
SELECT pa.id, u.ids[1 + (pa.id + k) %% %(labelers)s], 'submitted', (pa.id + k) %% 2 = 0, now(), now(), now()
FROM labeling_pair pa, generate_series(0, 2) k,
     (SELECT array_agg(id ORDER BY id) ids FROM auth_user WHERE username LIKE 'labeler-%%') u;
INSERT INTO labeling_comparison (assignment_id, pair_id, labeler_id, choice, shown_choice, confidence, shown_confidence,
    rationale, time_spent_ms, revision, is_current, created_at)
SELECT a.id, a.pair_id, a.labeler_id, c.choice, c.choice, c.confidence, c.confidence, '', 4000, 1, true, now()
FROM labeling_assignment a,
     LATERAL (SELECT abs(hashtext(a.id::text)) %% 10 AS r) h,
     LATERAL (SELECT CASE WHEN h.r < 6 THEN 'a' WHEN h.r < 9 THEN 'b' ELSE 'tie' END AS choice,
                     CASE WHEN h.r < 6 THEN 1 + h.r %% 4 WHEN h.r < 9 THEN 6 + h.r %% 4 ELSE 5 END AS confidence) c;
ANALYZE;
"""

REFERENCE_CODE = """
import time, django
django.setup()
from labeling.exports.options import ExportRequest
from labeling.exports.selection import comparisons_selected, judgment_groups
from labeling.exports.services import project_for_export
qs = comparisons_selected(project=project_for_export(slug={slug!r}), request=ExportRequest(format="trl"))
start = time.perf_counter()
n = sum(len(js) for _, js in judgment_groups(qs))
print(n, time.perf_counter() - start)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--db-name", default="arbiter_bench_export", help="scratch database, dropped and recreated")
    parser.add_argument("--comparisons", type=int, default=1_000_000, help="three per pair")
    parser.add_argument("--keep-db", action="store_true", help="leave the scratch database for inspection")
    return parser.parse_args()


def run_child(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """(wall seconds, stdout) of one child process; fails loudly with its stderr."""
    start = time.perf_counter()
    child = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)[:200]} failed:\n{child.stderr.decode()[-3000:]}")
    return time.perf_counter() - start, child.stdout.decode()


def timed_export(fmt: str, out_dir: Path, env: dict[str, str], extra: list[str]) -> dict[str, float]:
    """Run export_preferences under a tiny wrapper that prints the process's own peak RSS when it exits."""
    wrapper = (
        "import resource, sys, django, time; django.setup(); from django.core.management import call_command; "
        "t = time.perf_counter(); "
        f"call_command('export_preferences', project={SLUG!r}, format={fmt!r}, out={str(out_dir)!r}, "
        f"no_progress=True, *{extra!r}); "
        "print('ELAPSED', time.perf_counter() - t); "
        "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    wall, out = run_child([sys.executable, "-c", wrapper], env)
    figures = dict(line.split() for line in out.splitlines() if line.startswith(("ELAPSED", "PEAK_RSS_KB")))
    manifest = json.loads((out_dir / "manifest.json").read_text())
    return {
        "rows": manifest["counts"]["rows"],
        "judgments": manifest["counts"]["judgments_read"],
        "export_s": float(figures["ELAPSED"]),
        "process_s": wall,
        "rss_mb": int(figures["PEAK_RSS_KB"]) / 1024,
        "bytes": sum(f["bytes"] for f in manifest["files"]),
    }


def main() -> None:
    args = parse_args()
    pairs = args.comparisons // 3
    admin_url = f"{args.pg}/postgres"
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg}/{args.db_name}",
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "HF_HUB_OFFLINE": "1",
    }
    print(f"Generating {pairs * 3:,} comparisons ({pairs:,} pairs, {LABELERS} labelers) in {args.db_name} ...")
    database_recreate(admin_url=admin_url, name=args.db_name)
    try:
        database_migrate(env=env)
        start = time.perf_counter()
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            params = {"labelers": LABELERS, "pairs": pairs, "slug": SLUG, "batches": BATCHES}
            for statement in filter(str.strip, GENERATE_SQL.split(";\n")):
                conn.execute(statement, params)
        print(f"  generated in {time.perf_counter() - start:.1f} s")
        _, out = run_child([sys.executable, "-c", REFERENCE_CODE.format(slug=SLUG)], env)
        ref_n, ref_s = out.split()
        ref_rate = int(ref_n) / float(ref_s)
        print(f"Reference: stream the selection without writing: {int(ref_n):,} judgments in {float(ref_s):.1f} s "
              f"({ref_rate:,.0f}/s)")  # fmt: skip
        results = {}
        with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
            runs = [
                ("trl", "trl", []),
                ("trl-parquet", "trl-parquet", []),
                ("trl (1/5 slice)", "trl", ["--batch", "batch-0"]),
            ]
            for label, fmt, extra in runs:
                results[label] = r = timed_export(
                    fmt, Path(tmp) / label.replace(" ", "_").replace("/", "-"), env, extra
                )
                rate = r["judgments"] / r["export_s"]
                ok = "OK" if r["export_s"] < TARGET_SECONDS and r["rss_mb"] < TARGET_RSS_MB else "MISSED"
                print(
                    f"{label:16s} {r['judgments']:>9,} judgments -> {r['rows']:>9,} rows, {r['bytes'] / 1e6:7.1f} MB: "
                    f"{r['export_s']:6.1f} s export ({r['process_s']:.1f} s process), {rate:9,.0f} judgments/s "
                    f"({rate / ref_rate:.2f}x reference), peak RSS {r['rss_mb']:6.0f} MB  [{ok}: < {TARGET_SECONDS} s, "
                    f"< {TARGET_RSS_MB} MB]"
                )
        full, part = results["trl"], results["trl (1/5 slice)"]
        print(f"Memory growth 1/5 -> full export: {part['rss_mb']:.0f} MB -> {full['rss_mb']:.0f} MB "
              f"({full['rss_mb'] / part['rss_mb']:.2f}x for {full['judgments'] / part['judgments']:.1f}x the data)")  # fmt: skip
    finally:
        if not args.keep_db:
            database_drop(admin_url=admin_url, name=args.db_name)


if __name__ == "__main__":
    main()
