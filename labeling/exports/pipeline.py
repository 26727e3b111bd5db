"""The export loop: grouped judgments in, split data files out. Knows formats and files, not the database."""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .aggregate import AGREEMENT_ORDER, JudgmentRecord, PairInfo, Scale, Tally, agreement_level, preference_rows
from .formats import hh_record, openai_record, raw_record, trl_columns, trl_record
from .options import ExportRequest
from .pseudonym import Pseudonymizer
from .sinks import JsonlSink, ParquetSink
from .split import SPLIT_NAMES, split_for_prompt

PROGRESS_EVERY = 5_000
HF_STAGING = ".hf-staging"


class EmptySelectionError(Exception):
    """Nothing matched the request; no data file was left behind."""


@dataclass
class DatasetResult:
    tally: Tally
    rows_per_split: dict[str, int]
    prompts_per_split: dict[str, int]
    policies: Counter = field(default_factory=Counter)
    files: list[dict[str, Any]] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sinks(request: ExportRequest, folder: Path) -> dict[str, JsonlSink | ParquetSink]:
    if request.format in ("trl-parquet", "hf"):
        columns = trl_columns(
            include_margin=request.include_margin,
            soft_labels=request.ties == "soft",
            per_judgment=request.aggregation == "judgment",
        )
        return {name: ParquetSink(folder / f"{name}.parquet", columns) for name in SPLIT_NAMES}
    return {name: JsonlSink(folder / f"{name}.jsonl") for name in SPLIT_NAMES}


def dataset_write(
    *, groups: Iterable[tuple[PairInfo, list[JudgmentRecord]]], request: ExportRequest, scale: Scale,
    pseudonym: Pseudonymizer, out_dir: Path, flags_for: Callable[[int], list[dict[str, Any]]] = lambda _: [],
    on_progress: Callable[[int], None] | None = None,
) -> DatasetResult:  # fmt: skip
    """Write the export's data files into `out_dir` (which must exist). Raises EmptySelectionError on zero rows."""
    staging = out_dir / HF_STAGING if request.format == "hf" else out_dir
    staging.mkdir(exist_ok=True)
    sinks = _sinks(request, staging)
    tally = Tally()
    per_judgment = request.aggregation == "judgment"
    soft = request.ties == "soft"
    policies: Counter = Counter()
    prompts: dict[str, set[int]] = {name: set() for name in SPLIT_NAMES}
    seen = since_report = 0
    try:
        for pair, judgments in groups:
            split = split_for_prompt(prompt_key=pair.prompt_hash, seed=request.seed, fractions=request.split)
            sink = sinks[split]
            before = sink.rows
            if request.format == "raw":
                _write_raw(sink, pair, judgments, request, split, pseudonym, flags_for, tally)
            else:
                current = [j for j in judgments if j.is_current]
                for row in preference_rows(
                    pair=pair, judgments=current, per_judgment=per_judgment, ties=request.ties,
                    min_agreement_rank=request.min_agreement_rank, scale=scale, tally=tally,
                ):  # fmt: skip
                    worker = pseudonym(row.worker_id) if row.worker_id is not None else None
                    if request.format == "openai":
                        sink.write(openai_record(row, worker=worker, split=split))
                    elif request.format == "hh":
                        sink.write(hh_record(row))
                    else:
                        sink.write(trl_record(
                            row, worker=worker, include_margin=request.include_margin, soft_labels=soft,
                            per_judgment=per_judgment,
                        ))  # fmt: skip
            if sink.rows > before:
                prompts[split].add(pair.prompt_id)
                policies[pair.policy_a] += 1
                policies[pair.policy_b] += 1
            seen += len(judgments)
            if on_progress is not None and seen - since_report >= PROGRESS_EVERY:
                on_progress(seen)
                since_report = seen
    finally:
        for sink in sinks.values():
            sink.close()
    if on_progress is not None:
        on_progress(seen)
    rows = {name: sinks[name].rows for name in SPLIT_NAMES}
    if sum(rows.values()) == 0:
        if staging != out_dir:
            shutil.rmtree(staging, ignore_errors=True)
        raise EmptySelectionError(_empty_message(tally))
    result = DatasetResult(
        tally=tally,
        rows_per_split=rows,
        prompts_per_split={name: len(ids) for name, ids in prompts.items()},
        policies=policies,
    )
    if request.format == "hf":
        _save_hf(staging, out_dir, rows)
        data_paths = sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "manifest.json")
    else:
        data_paths = [sinks[name].path for name in SPLIT_NAMES if rows[name]]
    result.files = [
        {"path": p.relative_to(out_dir).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_of(p)}
        for p in data_paths
    ]
    for entry in result.files:
        stem = Path(entry["path"]).stem
        if stem in rows and request.format != "hf":
            entry["rows"] = rows[stem]
    return result


def _write_raw(
    sink: JsonlSink | ParquetSink, pair: PairInfo, judgments: list[JudgmentRecord], request: ExportRequest, split: str,
    pseudonym: Pseudonymizer, flags_for: Callable[[int], list[dict[str, Any]]], tally: Tally,
) -> None:  # fmt: skip
    current = [j.choice for j in judgments if j.is_current]
    level = agreement_level(current) if current else "split"
    tally.pairs += 1
    tally.judgments += len(judgments)
    tally.agreement[level] += 1
    if AGREEMENT_ORDER.index(level) < request.min_agreement_rank:
        tally.dropped["below_min_agreement"] += len(judgments)
        return
    flags = flags_for(pair.pair_id)
    for judgment in judgments:
        if judgment.choice == "both_bad" and not request.include_both_bad:
            tally.dropped["both_bad"] += 1
            continue
        sink.write(raw_record(
            pair=pair, judgment=judgment, worker=pseudonym(judgment.labeler_id), agreement=level, split=split,
            flags=flags,
        ))  # fmt: skip
        tally.rows += 1


def _save_hf(staging: Path, out_dir: Path, rows: dict[str, int]) -> None:
    """Parquet splits -> a DatasetDict saved with save_to_disk; the arrow cache is built by streaming, not in RAM."""
    import datasets

    try:
        splits = {}
        for name, count in rows.items():
            if count:
                path = staging / f"{name}.parquet"
                split = datasets.Dataset.from_parquet(str(path), cache_dir=str(staging / "cache"))
                # The default fingerprint hashes the staging path; the data's own hash keeps state.json reproducible.
                split._fingerprint = sha256_of(path)[:16]
                splits[name] = split
        datasets.DatasetDict(splits).save_to_disk(str(out_dir))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _empty_message(tally: Tally) -> str:
    if tally.judgments == 0:
        return "No judgments match this export's filters, so nothing was written."
    reasons = ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in sorted(tally.dropped.items()))
    return f"All {tally.judgments} matching judgment(s) were dropped ({reasons}), so nothing was written."
