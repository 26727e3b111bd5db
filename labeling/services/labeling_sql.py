"""The hand-written SQL of the labeling hot path (lock the next pair, open a lease, record a judgment).

Each runs on every judgment, so each is one statement with no ORM compilation: on PostgreSQL the writes that
go together (a new row and its pair's counters) are one statement with data-modifying CTEs. SQLite (the
embedded default) has no such CTEs and no row locks; there the same writes are plain ORM statements.
Callers hold the transaction and take the locks in the order every writer uses: the lease, then its pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F

from labeling.models import Assignment, AssignmentStatus, Comparison, Pair, Prompt, Sample

# The pair-locking query: a walk of the pair_queue index (project, is_gold, -submitted_count, -leased_count,
# id), closest to completion first, skipping pairs this labeler already had and rows other transactions hold.
# The bound on submitted_count alone is implied by the overlap test, but it starts the index scan past the
# pairs already at full overlap instead of filtering through them (they pile up as a project proceeds). The
# screen's texts come in the same statement; only the pair row is locked.
_NEXT_PAIR_SQL = """
SELECT p.*, pr.text AS screen_prompt, sa.text AS screen_a, sb.text AS screen_b
FROM labeling_pair p
JOIN labeling_prompt pr ON pr.id = p.prompt_id
JOIN labeling_sample sa ON sa.id = p.sample_a_id
JOIN labeling_sample sb ON sb.id = p.sample_b_id
WHERE p.project_id = %(project)s AND p.is_gold = %(gold)s {overlap}
  AND NOT EXISTS (SELECT 1 FROM labeling_assignment a WHERE a.pair_id = p.id AND a.labeler_id = %(labeler)s)
ORDER BY p.submitted_count DESC, p.leased_count DESC, p.id
LIMIT 1
{lock}"""
# Overlap counts submitted judgments plus live leases; gold pairs are judged by everyone.
_OVERLAP_SQL = "AND p.submitted_count < %(overlap)s AND p.submitted_count + p.leased_count < %(overlap)s"
_LOCK_SQL = "FOR UPDATE OF p SKIP LOCKED"


def _uses_ctes() -> bool:
    return connection.vendor == "postgresql"


def next_pair_sql(*, gold: bool) -> str:
    lock = _LOCK_SQL if connection.features.has_select_for_update_skip_locked else ""
    return _NEXT_PAIR_SQL.format(overlap="" if gold else _OVERLAP_SQL, lock=lock)


def next_pair_lock(*, project_id: int, labeler_id: int, overlap: int, gold: bool) -> Pair | None:
    """The best pair for this labeler, row-locked, with its prompt and samples loaded (one statement)."""
    params = {"project": project_id, "gold": gold, "labeler": labeler_id, "overlap": overlap}
    pair = next(iter(Pair.objects.raw(next_pair_sql(gold=gold), params)), None)
    if pair is None:
        return None
    db = pair._state.db
    pair.prompt = Prompt.from_db(db, ["id", "text"], [pair.prompt_id, pair.__dict__.pop("screen_prompt")])
    pair.sample_a = Sample.from_db(db, ["id", "text"], [pair.sample_a_id, pair.__dict__.pop("screen_a")])
    pair.sample_b = Sample.from_db(db, ["id", "text"], [pair.sample_b_id, pair.__dict__.pop("screen_b")])
    return pair


_LEASE_INSERT_SQL = """
WITH lease AS (
    INSERT INTO labeling_assignment (pair_id, labeler_id, status, swapped, created_at, expires_at)
    VALUES (%(pair)s, %(labeler)s, %(status)s, %(swapped)s, %(created_at)s, %(expires_at)s)
    RETURNING id
), counted AS (
    UPDATE labeling_pair SET leased_count = leased_count + 1 WHERE id = %(pair)s
)
SELECT id FROM lease"""


def lease_insert(*, pair: Pair, labeler_id: int, swapped: bool, created_at: datetime, expires_at: datetime) -> int:
    """A new open lease on the locked `pair` and the pair's leased_count raised with it; returns the lease id.
    Raises IntegrityError when the labeler already had the pair."""
    if not _uses_ctes():
        lease = Assignment.objects.create(
            pair=pair, labeler_id=labeler_id, swapped=swapped, created_at=created_at, expires_at=expires_at
        )
        Pair.objects.filter(id=pair.id).update(leased_count=F("leased_count") + 1)
        return lease.id
    params = {
        "pair": pair.id,
        "labeler": labeler_id,
        "status": AssignmentStatus.OPEN.value,
        "swapped": swapped,
        "created_at": created_at,
        "expires_at": expires_at,
    }
    with connection.cursor() as cursor:
        cursor.execute(_LEASE_INSERT_SQL, params)
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class JudgmentRow:
    """The columns of a first-revision comparison, canonical and as shown."""

    choice: str
    shown_choice: str
    confidence: int | None
    shown_confidence: int | None
    rationale: str
    time_spent_ms: int


_JUDGMENT_INSERT_SQL = """
WITH judged AS (
    INSERT INTO labeling_comparison (assignment_id, pair_id, labeler_id, choice, shown_choice, confidence,
                                     shown_confidence, rationale, time_spent_ms, revision, is_current, created_at)
    VALUES (%(assignment)s, %(pair)s, %(labeler)s, %(choice)s, %(shown_choice)s, %(confidence)s,
            %(shown_confidence)s, %(rationale)s, %(time_spent_ms)s, 1, true, %(now)s)
    RETURNING id
), closed AS (
    UPDATE labeling_assignment SET status = %(status)s, closed_at = %(now)s WHERE id = %(assignment)s
), counted AS (
    UPDATE labeling_pair SET leased_count = leased_count - 1, submitted_count = submitted_count + 1
    WHERE id = %(pair)s
)
SELECT id FROM judged"""


def judgment_insert(*, assignment: Assignment, row: JudgmentRow, now: datetime) -> Comparison:
    """Store the judgment on the locked open `assignment`, close the lease as submitted and move the pair's
    counters from leased to submitted, in one statement. Returns the new comparison (not re-read)."""
    comparison = Comparison(
        assignment=assignment,
        pair_id=assignment.pair_id,
        labeler_id=assignment.labeler_id,
        choice=row.choice,
        shown_choice=row.shown_choice,
        confidence=row.confidence,
        shown_confidence=row.shown_confidence,
        rationale=row.rationale,
        time_spent_ms=row.time_spent_ms,
        created_at=now,
    )
    if not _uses_ctes():
        comparison.save()
        Assignment.objects.filter(id=assignment.id).update(status=AssignmentStatus.SUBMITTED, closed_at=now)
        Pair.objects.filter(id=assignment.pair_id).update(
            leased_count=F("leased_count") - 1, submitted_count=F("submitted_count") + 1
        )
        return comparison
    params = {
        "assignment": assignment.id,
        "pair": assignment.pair_id,
        "labeler": assignment.labeler_id,
        "choice": row.choice,
        "shown_choice": row.shown_choice,
        "confidence": row.confidence,
        "shown_confidence": row.shown_confidence,
        "rationale": row.rationale,
        "time_spent_ms": row.time_spent_ms,
        "now": now,
        "status": AssignmentStatus.SUBMITTED.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_JUDGMENT_INSERT_SQL, params)
        comparison.id = cursor.fetchone()[0]
    comparison._state.adding = False
    comparison._state.db = connection.alias
    return comparison
