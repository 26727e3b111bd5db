"""The one translation from comparison rows to agreement arrays: read as columns, never as model instances."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import connection

from labeling.models import Comparison, Project
from labeling.stats.choices import BOTH_BAD_CODE, CHOICE_CODES, PREFERENCE_CHOICES

NO_CONFIDENCE = -1  # a project scale may start at 0
NO_GOLD = -1
# The array codes of labeling.stats.choices; any other value (both-bad, a blank gold choice) reads as `otherwise`.
_PREFERENCE_CODES = {choice: CHOICE_CODES[choice] for choice in PREFERENCE_CHOICES}


def _choice_code_sql(column: str, *, otherwise: int) -> str:
    whens = " ".join(f"WHEN '{choice}' THEN {code}" for choice, code in _PREFERENCE_CODES.items())
    return f"CASE {column} {whens} ELSE {otherwise} END"  # e.g. CASE c.choice WHEN 'a' THEN 0 ... ELSE 3 END


# On PostgreSQL two binary `COPY ... TO STDOUT` reads (judgments, pairs) go straight into numpy record arrays;
# other databases (SQLite in local runs) go through `values_list`.
# Two narrow reads instead of one wide join: judgments (1 row per comparison) and pairs (1 row per pair),
# joined in numpy. Each entry: (name, SQL type, expression).
_JUDGMENT_COLUMNS = (
    ("pair_id", "int8", "c.pair_id"),
    ("labeler_id", "int8", "c.labeler_id"),
    ("choice", "int4", _choice_code_sql("c.choice", otherwise=BOTH_BAD_CODE)),
    ("confidence", "int4", "COALESCE(c.confidence, -1)"),
    ("time_spent_ms", "int4", "c.time_spent_ms"),
)
_PAIR_COLUMNS = (
    ("pair_id", "int8", "p.id"),
    ("is_gold", "int4", "p.is_gold::int"),
    ("gold_choice", "int4", _choice_code_sql("p.gold_choice", otherwise=NO_GOLD)),
    ("policy_a", "int8", "sa.policy_id"),
    ("policy_b", "int8", "sb.policy_id"),
)


@dataclass(frozen=True)
class ComparisonArrays:
    """Current comparisons of a project, one entry per judgment, in the pairs' canonical order."""

    pair_id: np.ndarray  # (J,) int64
    labeler_id: np.ndarray  # (J,) int64
    choice: np.ndarray  # (J,) codes of labeling.stats.choices: 0 = a, 1 = b, 2 = tie, 3 = both bad
    confidence: np.ndarray  # (J,) canonical confidence, NO_CONFIDENCE where none was given
    time_spent_ms: np.ndarray  # (J,)
    is_gold: np.ndarray  # (J,) bool
    gold_choice: np.ndarray  # (J,) like choice, -1 where the pair is not gold
    policy_a: np.ndarray  # (J,) policy ids of the pair's samples
    policy_b: np.ndarray  # (J,)

    def __len__(self) -> int:
        return len(self.pair_id)


def _judgments_sql(project_id: int) -> str:
    columns = ", ".join(f"({expr})::{sql_type}" for _, sql_type, expr in _JUDGMENT_COLUMNS)
    return (
        f"SELECT {columns} FROM labeling_comparison c WHERE c.is_current "
        f"AND c.pair_id IN (SELECT id FROM labeling_pair WHERE project_id = {int(project_id)})"
    )


def _pairs_sql(project_id: int) -> str:
    columns = ", ".join(f"({expr})::{sql_type}" for _, sql_type, expr in _PAIR_COLUMNS)
    return (
        f"SELECT {columns} FROM labeling_pair p "
        "JOIN labeling_sample sa ON sa.id = p.sample_a_id JOIN labeling_sample sb ON sb.id = p.sample_b_id "
        f"WHERE p.project_id = {int(project_id)}"
    )


def _binary_copy_dtype(columns) -> np.dtype:
    """Row layout of PostgreSQL's binary COPY: int16 field count, then (int32 length, value) per field, big-endian."""
    fields: list[tuple[str, str]] = [("n_fields", ">i2")]
    for name, sql_type, _ in columns:
        fields += [(f"{name}_len", ">i4"), (name, ">i8" if sql_type == "int8" else ">i4")]
    return np.dtype(fields)


_HEADER_BYTES = 19  # "PGCOPY\n\377\r\n\0" + int32 flags + int32 header extension length


def _copy_records(cursor, select_sql: str, columns) -> np.ndarray:
    chunks = []
    with cursor.copy(f"COPY ({select_sql}) TO STDOUT (FORMAT binary)") as copy:
        for chunk in copy:
            chunks.append(bytes(chunk))
    dtype = _binary_copy_dtype(columns)
    body = b"".join(chunks)[_HEADER_BYTES:-2]  # drop the header and the int16 -1 trailer
    if len(body) % dtype.itemsize:
        raise RuntimeError("Unexpected binary COPY layout (a NULL where none was expected?).")
    records = np.frombuffer(body, dtype=dtype)
    if len(records) and np.any(records["n_fields"] != len(columns)):
        raise RuntimeError("Unexpected binary COPY layout.")
    return records


def _load_postgresql(project_id: int) -> dict[str, np.ndarray]:
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        judgments = _copy_records(raw, _judgments_sql(project_id), _JUDGMENT_COLUMNS)
        pairs = _copy_records(raw, _pairs_sql(project_id), _PAIR_COLUMNS)
    columns = {name: judgments[name].astype(np.int64) for name, _, _ in _JUDGMENT_COLUMNS}
    pair_ids = pairs["pair_id"].astype(np.int64)
    order = np.argsort(pair_ids)
    row = order[np.searchsorted(pair_ids, columns["pair_id"], sorter=order)] if len(pair_ids) else order
    for name, _, _ in _PAIR_COLUMNS[1:]:
        columns[name] = pairs[name].astype(np.int64)[row]
    columns["is_gold"] = columns["is_gold"].astype(bool)
    return columns


def _load_values_list(project: Project) -> dict[str, np.ndarray]:
    rows = Comparison.objects.filter(pair__project=project, is_current=True).values_list(
        "pair_id",
        "labeler_id",
        "choice",
        "confidence",
        "time_spent_ms",
        "pair__is_gold",
        "pair__gold_choice",
        "pair__sample_a__policy_id",
        "pair__sample_b__policy_id",
    )
    cols = list(zip(*rows)) or [()] * 9
    return {
        "pair_id": np.array(cols[0], dtype=np.int64),
        "labeler_id": np.array(cols[1], dtype=np.int64),
        "choice": np.array([_PREFERENCE_CODES.get(c, BOTH_BAD_CODE) for c in cols[2]], dtype=np.int64),
        "confidence": np.array([NO_CONFIDENCE if c is None else c for c in cols[3]], dtype=np.int64),
        "time_spent_ms": np.array(cols[4], dtype=np.int64),
        "is_gold": np.array(cols[5], dtype=bool),
        "gold_choice": np.array([_PREFERENCE_CODES.get(c, NO_GOLD) for c in cols[6]], dtype=np.int64),
        "policy_a": np.array(cols[7], dtype=np.int64),
        "policy_b": np.array(cols[8], dtype=np.int64),
    }


def comparison_arrays(*, project: Project) -> ComparisonArrays:
    """All current comparisons of `project` as parallel arrays (ordered by pair id)."""
    if connection.vendor == "postgresql":
        columns = _load_postgresql(project.id)
    else:
        columns = _load_values_list(project)
    order = np.argsort(columns["pair_id"], kind="stable")
    return ComparisonArrays(**{name: values[order] for name, values in columns.items()})
