"""Agreement benchmark: Krippendorff's alpha over ~1M judgments vs the `krippendorff` package, and the whole
project agreement report (bootstrap off) for ~1M judgments read from PostgreSQL.

    python bench/bench_agreement.py                # both parts
    python bench/bench_agreement.py --skip-db      # alpha only, no database needed
    python bench/bench_agreement.py --reuse        # keep the generated scratch database from an earlier run

The database part creates (or reuses) the scratch database `arbiter_bench_agreement` on the server of
$DATABASE_URL (default postgres://postgres@127.0.0.1:5432), migrates it, and generates the rows with
INSERT ... SELECT generate_series in PostgreSQL itself, so the fixture costs no Python loop either.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCRATCH_DB = "arbiter_bench_agreement"


def timed(fn, repeat: int = 3):
    """(best wall time over `repeat` runs, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def synthetic_reliability(n_units: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(nominal a/b/tie codes, ordinal 1..9 confidences), each labelers(4) × units, ~1/6 of cells missing."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=n_units, p=[0.5, 0.35, 0.15])
    noisy = np.where(rng.random((4, n_units)) < 0.7, truth, rng.integers(0, 3, (4, n_units)))
    conf = np.select([noisy == 0, noisy == 1], [rng.integers(1, 5, noisy.shape), rng.integers(6, 10, noisy.shape)], 5)
    missing = np.zeros((4, n_units), dtype=bool)
    missing[3] = rng.random(n_units) < 2 / 3  # a 4th labeler on a third of the pairs
    nominal = np.where(missing, np.nan, noisy.astype(float))
    ordinal = np.where(missing, np.nan, conf.astype(float))
    return nominal, ordinal


def bench_alpha(n_units: int) -> None:
    import krippendorff

    from labeling.stats.agreement import krippendorff_alpha

    nominal, ordinal = synthetic_reliability(n_units)
    judgments = int((~np.isnan(nominal)).sum())
    print(f"alpha: {n_units:,} pairs × 4 labelers with missing values = {judgments:,} judgments")
    print(f"{'level':<9} {'arbiter s':>10} {'krippendorff s':>15} {'speed-up':>9}  {'|difference|':>12}")
    for level, data in (("nominal", nominal), ("ordinal", ordinal)):
        ours_s, ours = timed(lambda: krippendorff_alpha(data, level_of_measurement=level))  # noqa: B023 (called at once)
        ref_s, ref = timed(lambda: krippendorff.alpha(reliability_data=data, level_of_measurement=level), repeat=1)  # noqa: B023
        print(f"{level:<9} {ours_s:>10.3f} {ref_s:>15.3f} {ref_s / ours_s:>8.1f}x  {abs(ours - ref):>12.2e}")


# ----------------------------------------------------------------------------------------------- database part
def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/arbiter")
    return url.rsplit("/", 1)[0]


def _ensure_scratch_database(reuse: bool) -> bool:
    """Create the scratch database; True when an existing one is reused."""
    import psycopg

    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (SCRATCH_DB,)).fetchone()
        if exists and reuse:
            return True
        if exists:
            conn.execute(f"DROP DATABASE {SCRATCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {SCRATCH_DB}")
    return False


GENERATE_SQL = [
    (
        "labelers",
        """
        INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                               date_joined)
        SELECT '!', false, 'bench-labeler-' || g, '', '', '', false, true, now() FROM generate_series(1, 40) g""",
    ),
    (
        "prompts",
        """
        INSERT INTO labeling_prompt (project_id, text, metadata, content_hash, created_at)
        SELECT {project}, 'prompt ' || g, '{{}}', md5(g::text), now() FROM generate_series(1, {pairs}) g""",
    ),
    (
        "samples",
        """
        INSERT INTO labeling_sample (prompt_id, policy_id, text, content_hash, generation_params, created_at)
        SELECT p.id, ({policies})[1 + ((p.id * 7 + s * (1 + p.id % 3)) % 4)], 'sample ' || s, md5(p.id || '-' || s),
               '{{}}', now()
        FROM labeling_prompt p CROSS JOIN generate_series(0, 1) s WHERE p.project_id = {project}""",
    ),
    (
        "pairs",
        """
        INSERT INTO labeling_pair (project_id, prompt_id, sample_a_id, sample_b_id, batch, is_gold, gold_choice,
                                   submitted_count, leased_count, created_at)
        SELECT {project}, prompt_id, min(id), max(id), '', prompt_id % 50 = 0,
               CASE WHEN prompt_id % 50 = 0 THEN 'a' ELSE '' END, 0, 0, now()
        FROM labeling_sample GROUP BY prompt_id""",
    ),
    (
        "assignments",
        """
        INSERT INTO labeling_assignment (pair_id, labeler_id, status, swapped, created_at, expires_at, closed_at)
        SELECT p.id, u.id, CASE WHEN s = 5 THEN 'skipped' ELSE 'submitted' END, random() < 0.5, now(), now(), now()
        FROM labeling_pair p
        CROSS JOIN generate_series(1, 5) s
        JOIN auth_user u ON u.username = 'bench-labeler-' || (1 + (p.id * 7 + s * 13) % 40)
        WHERE p.project_id = {project} AND (s <= 3 OR (s = 4 AND p.id % 3 = 0) OR (s = 5 AND p.id % 20 = 0))""",
    ),
    (
        "comparisons",
        """
        INSERT INTO labeling_comparison (assignment_id, pair_id, labeler_id, choice, shown_choice, confidence,
                                         shown_confidence, rationale, time_spent_ms, revision, is_current, created_at)
        SELECT id, pair_id, labeler_id, choice, choice, conf, conf, '', (2000 + random() * 30000)::int, 1, true, now()
        FROM (
            SELECT a.id, a.pair_id, a.labeler_id, c.choice,
                   CASE c.choice WHEN 'a' THEN 1 + floor(random() * 4)::int WHEN 'b' THEN 6 + floor(random() * 4)::int
                                 WHEN 'tie' THEN 5 ELSE NULL END AS conf
            FROM labeling_assignment a
            JOIN labeling_pair p ON p.id = a.pair_id
            JOIN labeling_sample sa ON sa.id = p.sample_a_id
            JOIN labeling_sample sb ON sb.id = p.sample_b_id
            -- The pair's "true" answer favours the policy created later, so the ranking has something to find.
            CROSS JOIN LATERAL (SELECT CASE
                WHEN random() < 0.02 THEN 'both_bad'
                WHEN random() < 0.7 THEN CASE WHEN p.id % 7 = 0 THEN 'tie'
                                              WHEN (sa.policy_id > sb.policy_id) = (p.id % 5 > 0) THEN 'a'
                                              ELSE 'b' END
                ELSE (ARRAY['a', 'b', 'tie'])[1 + floor(random() * 3)::int] END AS choice) c
            WHERE a.status = 'submitted'
        ) j""",
    ),
]


def _generate(n_pairs: int) -> None:
    from django.db import connection
    from tqdm import tqdm

    from labeling.models import Policy
    from labeling.services.projects import project_create

    project = project_create(slug="bench-agreement", name="Agreement benchmark")
    policies = [Policy.objects.create(project=project, name=f"policy-{i}").id for i in range(4)]
    params = {"project": project.id, "pairs": n_pairs, "policies": f"ARRAY{policies}"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        for _name, sql in tqdm(GENERATE_SQL, desc="generating rows in PostgreSQL", unit="table"):
            cursor.execute(sql.format(**params))
        cursor.execute(
            "UPDATE labeling_pair p SET submitted_count = c.n FROM "
            "(SELECT pair_id, count(*) n FROM labeling_comparison GROUP BY pair_id) c WHERE c.pair_id = p.id"
        )
        cursor.execute("ANALYZE")


def bench_report(n_pairs: int, reuse: bool) -> None:
    reused = _ensure_scratch_database(reuse)
    os.environ["DATABASE_URL"] = f"{_server_url()}/{SCRATCH_DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.core.management import call_command

    from labeling.models import Comparison, Project
    from labeling.services.agreement_data import comparison_arrays
    from labeling.services.agreement_report import agreement_report_build
    from labeling.stats.agreement import krippendorff_alpha

    if not reused:
        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        _generate(n_pairs)
        print(f"generated the scratch database in {time.perf_counter() - start:.1f} s")
    project = Project.objects.get(slug="bench-agreement")
    n = Comparison.objects.filter(pair__project=project, is_current=True).count()
    print(f"report: {n:,} current comparisons in database {SCRATCH_DB}")
    read_s, data = timed(lambda: comparison_arrays(project=project))
    report_s, report = timed(lambda: agreement_report_build(project=project, n_resamples=0))
    compute_s, _ = timed(lambda: agreement_report_build(project=project, n_resamples=0, data=data))
    print(f"read comparisons as arrays (binary COPY)   {read_s:7.3f} s")
    print(f"report from those arrays (+ small queries) {compute_s:7.3f} s")
    print(f"whole agreement report, bootstrap off      {report_s:7.3f} s   (goal < 10 s)")
    boot_s, _ = timed(lambda: agreement_report_build(project=project, n_resamples=200), repeat=1)
    print(f"whole agreement report, 200 resamples      {boot_s:7.3f} s")
    for c in report.coefficients:
        print(f"  {c.name:<18} {c.variable:<10} {c.interval.estimate:.4f}  ({c.n_units:,} pairs)")
    # Cross-check the report's nominal alpha with the alpha of the same data as dense reliability data.
    keep = ~data.is_gold & (data.choice < 3)
    labelers, li = np.unique(data.labeler_id[keep], return_inverse=True)
    pairs, pi = np.unique(data.pair_id[keep], return_inverse=True)
    dense = np.full((len(labelers), len(pairs)), np.nan)
    dense[li, pi] = data.choice[keep]
    alpha = next(c for c in report.coefficients if c.name == "krippendorff_alpha").interval.estimate
    print(
        f"  nominal alpha equals krippendorff_alpha on the dense matrix: {abs(alpha - krippendorff_alpha(dense, level_of_measurement='nominal')) < 1e-9}"
    )
    print(
        f"  labelers marked for review: {sum(r.needs_review for r in report.labelers)} of {len(report.labelers)}; "
        f"split pairs {report.n_split_pairs:,}; ranking "
        + ", ".join(f"{p.name} {p.rating:.0f}" for p in report.ranking)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=300_000, help="Units (pairs) in both parts.")
    parser.add_argument("--skip-db", action="store_true", help="Only the alpha comparison.")
    parser.add_argument("--reuse", action="store_true", help="Reuse the scratch database if it exists.")
    args = parser.parse_args()
    # Other work on the machine skews every figure; print it with them.
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    bench_alpha(args.pairs)
    if not args.skip_db:
        bench_report(args.pairs, args.reuse)


if __name__ == "__main__":
    main()
