"""Validated, atomic, idempotent imports of prompts and pairs from JSONL.

Every line is parsed and checked before anything is written; a file with any error imports nothing and
the errors name line numbers and fields. Content hashes make re-importing the same file a no-op.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import transaction

from common.errors import DomainError
from labeling.models import Pair, Policy, PolicyKind, Project, Prompt, Sample
from labeling.stats.choices import PREFERENCE_CHOICES
from rewards.data import split_hh_dialogue

from .pairs import PairRow, pairs_create

MAX_TEXT_CHARS = 200_000
# The column's width (Pair.batch); a longer batch name would fail at the database, after the checks.
# Both are CharFields, so max_length is set; get_field is typed for any field, where it may be None.
MAX_BATCH_CHARS = cast(int, Pair._meta.get_field("batch").max_length)
MAX_POLICY_CHARS = cast(int, Policy._meta.get_field("name").max_length)


class ImportFileError(DomainError):
    code = "import_invalid"


@dataclass
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class ImportResult:
    lines: int = 0
    prompts_created: int = 0
    samples_created: int = 0
    pairs_created: int = 0
    pairs_existing: int = 0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PairRecord:
    line: int
    prompt: str
    response_a: str
    response_b: str
    policy_a: str
    policy_b: str
    gold_choice: str
    batch: str
    metadata: dict


def content_hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def unstorable_reason(value: Any) -> str | None:
    """Why PostgreSQL (text or jsonb) could not store this JSON value, or None: a NUL character, or a lone
    UTF-16 surrogate such as "\\ud800" (JSON allows it, UTF-8 cannot encode it)."""
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (\\u0000)"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"contains an unpaired surrogate ({value[exc.start]!r}) that is not valid Unicode text"
        return None
    if isinstance(value, dict):
        items: Iterable[Any] = (part for pair in value.items() for part in pair)
    elif isinstance(value, list):
        items = value
    else:
        return None
    return next((reason for item in items if (reason := unstorable_reason(item)) is not None), None)


def gunzip_upload(data: bytes) -> bytes:
    """Decompress a gzipped upload; a truncated or corrupt file is an ImportFileError, not a traceback."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportFileError(f"Nothing was imported: the gzip file is truncated or corrupt ({exc}).") from exc


def _read_json_lines(lines: Iterable[str | bytes], errors: list[LineError]) -> list[tuple[int, dict]]:
    rows = []
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                errors.append(LineError(number, "(line)", "is not valid UTF-8"))
                continue
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, "(line)", f"is not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(value, dict):
            errors.append(LineError(number, "(line)", "must be a JSON object"))
            continue
        rows.append((number, value))
    return rows


def _text(row: dict, key: str, number: int, errors: list[LineError], *, required: bool = True) -> str:
    value = row.get(key)
    if value is None:
        if required:
            errors.append(LineError(number, key, "is missing"))
        return ""
    if not isinstance(value, str):
        errors.append(LineError(number, key, "must be a string"))
        return ""
    if (reason := unstorable_reason(value)) is not None:
        errors.append(LineError(number, key, reason))
        return ""
    if required and not value.strip():
        errors.append(LineError(number, key, "is empty"))
    if len(value) > MAX_TEXT_CHARS:
        errors.append(LineError(number, key, f"is longer than {MAX_TEXT_CHARS:,} characters"))
    return value


def _raise_if_errors(errors: list[LineError], rows: int, *, skip_invalid: bool = False) -> None:
    if errors and not skip_invalid:
        shown = "; ".join(str(e) for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise ImportFileError(
            f"Nothing was imported: {len(errors)} error(s) in the file: {shown}{more}",
            errors=[{"line": e.line, "field": e.field, "message": e.message} for e in errors],
        )
    if rows == 0:
        raise ImportFileError("Nothing was imported: the file has no records.")


def _skipped(errors: list[LineError]) -> dict[str, Any]:
    return {"skipped": [{"line": e.line, "field": e.field, "message": e.message} for e in errors]} if errors else {}


def _ensure_policy(project: Project, name: str, kind: str) -> Policy:
    policy, _ = Policy.objects.get_or_create(project=project, name=name, defaults={"kind": kind})
    return policy


def _upsert_prompts(project: Project, texts: dict[str, tuple[str, dict]]) -> tuple[dict[str, Prompt], int]:
    """texts: hash -> (text, metadata). Returns hash -> Prompt and how many were new."""
    existing = {p.content_hash: p for p in Prompt.objects.filter(project=project, content_hash__in=list(texts))}
    new = [
        Prompt(project=project, text=text, metadata=meta, content_hash=h)
        for h, (text, meta) in texts.items()
        if h not in existing
    ]
    Prompt.objects.bulk_create(new, batch_size=2000)
    if new:
        existing = {p.content_hash: p for p in Prompt.objects.filter(project=project, content_hash__in=list(texts))}
    return existing, len(new)


def _upsert_samples(wanted: dict[tuple[int, int, str], tuple[str, dict]]) -> tuple[dict, int]:
    """wanted: (prompt_id, policy_id, hash) -> (text, params). Returns that key -> sample id, and the new count."""
    prompt_ids = {k[0] for k in wanted}

    def load() -> dict:
        found = {}
        rows = Sample.objects.filter(prompt_id__in=prompt_ids).values_list(
            "id", "prompt_id", "policy_id", "content_hash"
        )
        for sid, prompt_id, policy_id, h in rows.iterator(chunk_size=5000):
            found[(prompt_id, policy_id, h)] = sid
        return found

    existing = load()
    new = [
        Sample(prompt_id=k[0], policy_id=k[1], content_hash=k[2], text=text, generation_params=params)
        for k, (text, params) in wanted.items()
        if k not in existing
    ]
    Sample.objects.bulk_create(new, batch_size=2000)
    return (load() if new else existing), len(new)


@transaction.atomic
def prompts_import(*, project: Project, lines: Iterable[str | bytes], skip_invalid: bool = False) -> ImportResult:
    """Prompts JSONL: {"text": ..., "metadata"?: {...}, "reference"?: "..."}; `reference` becomes a
    sample of the project's `human-reference` policy. Fables-style {"id","title","text","reference"} works as is."""
    errors: list[LineError] = []
    rows = _read_json_lines(lines, errors)
    parsed: dict[str, tuple[str, dict]] = {}
    references: dict[str, str] = {}
    for number, row in rows:
        text = _text(row, "text", number, errors)
        metadata = row.get("metadata", {})
        if not isinstance(metadata, dict):
            errors.append(LineError(number, "metadata", "must be an object"))
            continue
        metadata = {**{k: row[k] for k in ("id", "title") if k in row}, **metadata}
        if (reason := unstorable_reason(metadata)) is not None:
            errors.append(LineError(number, "metadata", reason))
            continue
        reference = _text(row, "reference", number, errors, required=False)
        if text:
            h = content_hash(text)
            parsed[h] = (text, metadata)
            if reference.strip():
                references[h] = reference
    _raise_if_errors(errors, len(rows), skip_invalid=skip_invalid)
    prompts, created = _upsert_prompts(project, parsed)
    result = ImportResult(lines=len(rows), prompts_created=created, details=_skipped(errors))
    if references:
        policy = _ensure_policy(project, "human-reference", PolicyKind.HUMAN_REFERENCE)
        wanted: dict[tuple[int, int, str], tuple[str, dict]] = {
            (prompts[h].id, policy.id, content_hash(ref)): (ref, {}) for h, ref in references.items()
        }
        _, result.samples_created = _upsert_samples(wanted)
    return result


def _parse_pair_row(number: int, row: dict, errors: list[LineError], default_gold: bool) -> PairRecord | None:
    batch = row.get("batch", "")
    metadata = row.get("metadata", {})
    if not isinstance(metadata, dict):
        errors.append(LineError(number, "metadata", "must be an object"))
        return None
    if (reason := unstorable_reason(metadata)) is not None:
        errors.append(LineError(number, "metadata", reason))
        return None
    if not isinstance(batch, str):
        errors.append(LineError(number, "batch", "must be a string"))
        return None
    if len(batch) > MAX_BATCH_CHARS:
        errors.append(LineError(number, "batch", f"is longer than {MAX_BATCH_CHARS} characters"))
        return None
    if (reason := unstorable_reason(batch)) is not None:
        errors.append(LineError(number, "batch", reason))
        return None
    if "chosen" in row or "rejected" in row:
        chosen = _text(row, "chosen", number, errors)
        rejected = _text(row, "rejected", number, errors)
        if not (chosen and rejected):
            return None
        try:
            prompt, answer_c, answer_r = split_hh_dialogue(chosen, rejected)
        except ValueError as exc:
            errors.append(LineError(number, "chosen/rejected", str(exc)))
            return None
        if not answer_c or not answer_r:
            errors.append(LineError(number, "chosen/rejected", "a final Assistant turn is empty"))
            return None
        if answer_c == answer_r:
            errors.append(LineError(number, "chosen/rejected", "the two answers are identical"))
            return None
        # Canonical order by content hash, so the chosen answer is not always A.
        chosen_first = content_hash(answer_c) < content_hash(answer_r)
        a, b = (answer_c, answer_r) if chosen_first else (answer_r, answer_c)
        gold = ("a" if chosen_first else "b") if default_gold else ""
        return PairRecord(number, prompt, a, b, "hh-rlhf", "hh-rlhf", gold, batch, metadata)
    prompt = _text(row, "prompt", number, errors)
    a = _text(row, "response_a", number, errors)
    b = _text(row, "response_b", number, errors)
    policy_a = row.get("policy_a", "imported")
    policy_b = row.get("policy_b", "imported")
    for key, value in (("policy_a", policy_a), ("policy_b", policy_b)):
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_POLICY_CHARS:
            errors.append(LineError(number, key, f"must be a non-empty name of at most {MAX_POLICY_CHARS} characters"))
            return None
        if (reason := unstorable_reason(value)) is not None:
            errors.append(LineError(number, key, reason))
            return None
    gold_choice = row.get("gold_choice", "")
    if gold_choice not in ("", *PREFERENCE_CHOICES):
        errors.append(LineError(number, "gold_choice", f"must be one of {', '.join(PREFERENCE_CHOICES)}"))
        return None
    if a and b and a == b and policy_a == policy_b:
        errors.append(LineError(number, "response_b", "is identical to response_a"))
        return None
    if not (prompt and a and b):
        return None
    return PairRecord(number, prompt, a, b, policy_a, policy_b, gold_choice, batch, metadata)


@transaction.atomic
def pairs_import(
    *, project: Project, lines: Iterable[str | bytes], gold: bool = False, skip_invalid: bool = False
) -> ImportResult:
    """Pairs JSONL in either format:
    - HH-RLHF dialogues {"chosen", "rejected"} (with gold=True the human preference becomes the gold answer);
    - {"prompt", "response_a", "response_b", "policy_a"?, "policy_b"?, "gold_choice"?, "batch"?, "metadata"?}.
    With skip_invalid the valid lines are imported and the bad ones reported in `details["skipped"]`.
    """
    errors: list[LineError] = []
    rows = _read_json_lines(lines, errors)
    records = [r for number, row in rows if (r := _parse_pair_row(number, row, errors, gold)) is not None]
    _raise_if_errors(errors, len(rows), skip_invalid=skip_invalid)
    if not records:
        raise ImportFileError("Nothing was imported: no line of the file is valid.", errors=_skipped(errors)["skipped"])
    prompts, prompts_created = _upsert_prompts(project, {content_hash(r.prompt): (r.prompt, {}) for r in records})
    policy_names = {r.policy_a for r in records} | {r.policy_b for r in records}
    policies = {name: _ensure_policy(project, name, PolicyKind.IMPORTED) for name in policy_names}
    wanted: dict[tuple[int, int, str], tuple[str, dict]] = {}
    keys = []
    for r in records:
        prompt_id = prompts[content_hash(r.prompt)].id
        key_a = (prompt_id, policies[r.policy_a].id, content_hash(r.response_a))
        key_b = (prompt_id, policies[r.policy_b].id, content_hash(r.response_b))
        wanted[key_a] = (r.response_a, {})
        wanted[key_b] = (r.response_b, {})
        keys.append((r, prompt_id, key_a, key_b))
    sample_ids, samples_created = _upsert_samples(wanted)
    created = pairs_create(
        project=project,
        rows=[
            PairRow(prompt_id, sample_ids[key_a], sample_ids[key_b], batch=r.batch, gold_choice=r.gold_choice)
            for r, prompt_id, key_a, key_b in keys
        ],
    )
    return ImportResult(
        lines=len(rows),
        prompts_created=prompts_created,
        samples_created=samples_created,
        pairs_created=len(created),
        pairs_existing=len(keys) - len(created),
        details=_skipped(errors),
    )
