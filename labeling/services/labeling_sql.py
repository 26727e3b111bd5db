"""The hand-written SQL of the labeling hot path (lock the next pair, open a lease, record a judgment).

Each runs on every judgment, so each is one statement with no ORM compilation: on PostgreSQL the writes that
go together (a new row and its pair's counters) are one statement with data-modifying CTEs. SQLite (the
embedded default) has no such CTEs and no row locks; there the same writes are plain ORM statements.
Callers hold the transaction and take the locks in the order every writer uses: the lease, then its pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Field, Model

from labeling.models import Assignment, AssignmentStatus, Comparison, Pair, Project, ProjectMembership, Prompt, Sample

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


def _db_values(model: type[Model], names: list[str], values: list[Any]) -> list[Any]:
    """Raw column values as the ORM reads them: each field's backend and field converters applied, so SQLite's
    naive datetimes come back aware, its 0/1 as booleans and JSON as Python values, as on PostgreSQL."""
    out = []
    for name, value in zip(names, values, strict=True):
        field = model._meta.get_field(name)
        assert isinstance(field, Field), f"{name} is a column of {model.__name__}"
        column = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            value = convert(value, column, connection)
        out.append(value)
    return out


def _uses_ctes() -> bool:
    return connection.vendor == "postgresql"


def next_pair_sql(*, gold: bool) -> str:
    lock = _LOCK_SQL if connection.features.has_select_for_update_skip_locked else ""
    return _NEXT_PAIR_SQL.format(overlap="" if gold else _OVERLAP_SQL, lock=lock)


def next_pair_lock(*, project_id: int, labeler_id: int, overlap: int, gold: bool) -> Pair | None:
    """The best pair for this labeler, row-locked, with its prompt and samples loaded (one statement)."""
    params = {"project": project_id, "gold": gold, "labeler": labeler_id, "overlap": overlap}
    pair = next(iter(Pair.objects.raw(next_pair_sql(gold=gold), params)), None)
    return _with_screen(pair) if pair is not None else None


def _with_screen(pair: Pair) -> Pair:
    """Attach the prompt and samples whose texts came as screen_* columns (only their id and text)."""
    db = pair._state.db
    pair.prompt = Prompt.from_db(db, ["id", "text"], [pair.prompt_id, pair.__dict__.pop("screen_prompt")])
    pair.sample_a = Sample.from_db(db, ["id", "text"], [pair.sample_a_id, pair.__dict__.pop("screen_a")])
    pair.sample_b = Sample.from_db(db, ["id", "text"], [pair.sample_b_id, pair.__dict__.pop("screen_b")])
    return pair


# Open leases past their expiry, row-locked (others' locked rows skipped), for the sweep that returns them.
_STALE_LEASES_SQL = """
SELECT a.id, a.pair_id
FROM labeling_assignment a {join}
WHERE a.status = %(open)s AND a.expires_at <= %(now)s {project}
ORDER BY a.id
LIMIT %(limit)s
{lock}"""


def stale_leases_lock(*, project_id: int | None, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(lease id, pair id) of up to `limit` expired open leases, of one project or all, locked (oldest first)."""
    lock = "FOR UPDATE OF a SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    sql = _STALE_LEASES_SQL.format(
        join="JOIN labeling_pair p ON p.id = a.pair_id" if project_id is not None else "",
        project="AND p.project_id = %(project)s" if project_id is not None else "",
        lock=lock,
    )
    params: dict[str, Any] = {"open": AssignmentStatus.OPEN.value, "now": now, "project": project_id, "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], row[1]) for row in cursor.fetchall()]


# A labeler's live leases in a project, oldest first, with what their screens show; the lease cap keeps it short.
_OPEN_LEASES_SQL = """
SELECT a.id AS lease_id, a.status AS lease_status, a.swapped AS lease_swapped, a.created_at AS lease_created_at,
       a.expires_at AS lease_expires_at, p.*, pr.text AS screen_prompt, sa.text AS screen_a, sb.text AS screen_b
FROM labeling_assignment a
JOIN labeling_pair p ON p.id = a.pair_id
JOIN labeling_prompt pr ON pr.id = p.prompt_id
JOIN labeling_sample sa ON sa.id = p.sample_a_id
JOIN labeling_sample sb ON sb.id = p.sample_b_id
WHERE a.labeler_id = %(labeler)s AND p.project_id = %(project)s AND a.status = %(open)s AND a.expires_at > %(now)s
ORDER BY a.id"""


def open_leases_read(*, project_id: int, labeler_id: int, now: datetime) -> list[Assignment]:
    """The labeler's open, unexpired leases in the project (oldest first), pairs with prompt and samples loaded."""
    params = {"project": project_id, "labeler": labeler_id, "open": AssignmentStatus.OPEN.value, "now": now}
    leases = []
    for pair in Pair.objects.raw(_OPEN_LEASES_SQL, params):
        row = pair.__dict__
        columns = ["id", "pair_id", "labeler_id", "status", "swapped", "created_at", "expires_at", "closed_at"]
        raw = [
            row.pop("lease_id"),
            pair.id,
            labeler_id,
            row.pop("lease_status"),
            row.pop("lease_swapped"),
            row.pop("lease_created_at"),
            row.pop("lease_expires_at"),
            None,
        ]  # the lease's columns are extra columns of the raw query, which the ORM does not convert
        lease = Assignment.from_db(pair._state.db, columns, _db_values(Assignment, columns, raw))
        lease.pair = _with_screen(pair)
        leases.append(lease)
    return leases


_LEASE_COLUMNS = ("id", "pair_id", "labeler_id", "status", "swapped", "created_at", "expires_at", "closed_at")


def _lease_lock_sql() -> str:
    project_columns = ", ".join(f'pr."{f.column}"' for f in Project._meta.concrete_fields)
    lock = "FOR UPDATE OF a" if connection.features.has_select_for_update_of else ""
    return f"""
SELECT {", ".join(f"a.{c}" for c in _LEASE_COLUMNS)}, {project_columns},
       EXISTS (SELECT 1 FROM {ProjectMembership._meta.db_table} m
               WHERE m.project_id = p.project_id AND m.user_id = %(labeler)s) AS labeler_is_member
FROM labeling_assignment a
JOIN labeling_pair p ON p.id = a.pair_id
JOIN {Project._meta.db_table} pr ON pr.id = p.project_id
WHERE a.id = %(assignment)s
{lock}"""


@dataclass(frozen=True)
class LockedLease:
    lease: Assignment  # its pair holds only its id and project, the project fully loaded
    labeler_is_member: bool  # whether the labeler asked about is a member of the lease's project


def lease_lock(*, assignment_id: int, labeler_id: int) -> LockedLease | None:
    """The lease, row-locked, with its pair's project loaded; None if there is no such lease."""
    with connection.cursor() as cursor:
        cursor.execute(_lease_lock_sql(), {"assignment": assignment_id, "labeler": labeler_id})
        row = cursor.fetchone()
    if row is None:
        return None
    db = connection.alias
    n = len(_LEASE_COLUMNS)
    project_fields = Project._meta.concrete_fields
    lease = Assignment.from_db(db, list(_LEASE_COLUMNS), _db_values(Assignment, list(_LEASE_COLUMNS), list(row[:n])))
    project_names = [f.attname for f in project_fields]
    project_values = _db_values(Project, project_names, list(row[n : n + len(project_fields)]))
    project = Project.from_db(db, project_names, project_values)
    lease.pair = Pair.from_db(db, ["id", "project_id"], [lease.pair_id, project.id])
    lease.pair.project = project
    return LockedLease(lease=lease, labeler_is_member=bool(row[-1]))


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
    params: dict[str, Any] = {
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
    params: dict[str, Any] = {
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
