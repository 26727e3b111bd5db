"""The export loop: grouped judgments in, split data files out. Knows formats and files, not the database."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labeling.stats.choices import TIE

from .aggregate import AGREEMENT_ORDER, JudgmentRecord, PairInfo, Scale, Tally, agreement_level, preference_rows
from .card import CardFile, dataset_card
from .formats import (
    OPENAI_SPLITS,
    hh_record,
    openai_record,
    raw_record,
    tie_columns,
    tie_record,
    trl_columns,
    trl_record,
)
from .layout import PromptLayout
from .options import TRL_FORMATS, ExportRequest
from .pseudonym import Pseudonymizer
from .sinks import JsonlSink, ParquetSink
from .split import SPLIT_NAMES, split_for_prompt

PROGRESS_EVERY = 5_000
CARD_NAME = "README.md"
TIES = "ties"


class EmptySelectionError(Exception):
    """Nothing matched the request; no data file was left behind."""


@dataclass
class DatasetResult:
    tally: Tally
    rows_per_split: dict[str, int]
    prompts_per_split: dict[str, int]
    policies: Counter = field(default_factory=Counter)
    files: list[dict[str, Any]] = field(default_factory=list)
    tie_rows: int | None = None  # rows in the separate ties file; None when ties are not kept there


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_file_name(request: ExportRequest, split: str) -> str:
    """Where a split's rows go: flat files, openai's release split names, or the Hub's data/ layout for hf."""
    if request.format == "hf":
        return f"data/{split}-00000-of-00001.parquet"
    name = OPENAI_SPLITS.get(split, split) if request.format == "openai" else split
    return f"{name}.parquet" if request.format == "trl-parquet" else f"{name}.jsonl"


def _columns(request: ExportRequest) -> list[tuple[str, str]]:
    return trl_columns(
        include_margin=request.include_margin, per_judgment=request.per_judgment,
        conversational=request.style == "conversational",
    )  # fmt: skip


def _sink(request: ExportRequest, path: Path, columns: list[tuple[str, str]]) -> JsonlSink | ParquetSink:
    path.parent.mkdir(parents=True, exist_ok=True)
    return ParquetSink(path, columns) if path.suffix == ".parquet" else JsonlSink(path)


def dataset_write(
    *, groups: Iterable[tuple[PairInfo, list[JudgmentRecord]]], request: ExportRequest, scale: Scale,
    pseudonym: Pseudonymizer, out_dir: Path, layout: PromptLayout | None = None, title: str = "Arbiter export",
    flags_for: Callable[[int], list[dict[str, Any]]] = lambda _: [],
    on_progress: Callable[[int], None] | None = None,
) -> DatasetResult:  # fmt: skip
    """Write the export's data files and dataset card into `out_dir` (which must exist); every split gets a file,
    empty when it has no rows. Raises EmptySelectionError (leaving no file) when no row was written."""
    layout = layout or PromptLayout("stored")
    columns = _columns(request)
    sinks = {name: _sink(request, out_dir / split_file_name(request, name), columns) for name in SPLIT_NAMES}
    ties_sink = None
    if request.ties == "separate" and request.format not in ("hh", "raw"):
        suffix = "parquet" if request.format in ("trl-parquet", "hf") else "jsonl"
        tie_path = f"data/{TIES}-00000-of-00001.parquet" if request.format == "hf" else f"{TIES}.{suffix}"
        ties_sink = _sink(request, out_dir / tie_path, tie_columns(per_judgment=request.per_judgment))
    tally = Tally()
    conversational = request.style == "conversational"
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
                    pair=pair, judgments=current, per_judgment=request.per_judgment, ties=request.ties,
                    min_agreement_rank=request.min_agreement_rank, scale=scale, tally=tally,
                ):  # fmt: skip
                    worker = pseudonym(row.worker_id) if row.worker_id is not None else None
                    if row.chosen == TIE and ties_sink is not None:
                        if request.format == "openai":
                            ties_sink.write(openai_record(row, worker=worker, split=split))
                        else:
                            ties_sink.write(
                                tie_record(row, worker=worker, split=split, per_judgment=request.per_judgment)
                            )
                    elif request.format == "openai":
                        sink.write(openai_record(row, worker=worker, split=split))
                    elif request.format == "hh":
                        sink.write(hh_record(row))
                    else:
                        sink.write(trl_record(
                            row, layout=layout, conversational=conversational, worker=worker,
                            include_margin=request.include_margin, per_judgment=request.per_judgment,
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
        for sink in [*sinks.values(), *([ties_sink] if ties_sink else [])]:
            sink.close()
    if on_progress is not None:
        on_progress(seen)
    rows = {name: sinks[name].rows for name in SPLIT_NAMES}
    tie_rows = ties_sink.rows if ties_sink is not None else None
    if sum(rows.values()) + (tie_rows or 0) == 0:
        for sink in [*sinks.values(), *([ties_sink] if ties_sink else [])]:
            sink.path.unlink(missing_ok=True)
        if (out_dir / "data").is_dir() and not any((out_dir / "data").iterdir()):
            (out_dir / "data").rmdir()
        raise EmptySelectionError(_empty_message(tally))
    result = DatasetResult(
        tally=tally,
        rows_per_split=rows,
        prompts_per_split={name: len(ids) for name, ids in prompts.items()},
        policies=policies,
        tie_rows=tie_rows,
    )
    card_files = [CardFile(OPENAI_SPLITS.get(n, n) if request.format == "openai" else n,
                           split_file_name(request, n), rows[n]) for n in SPLIT_NAMES]  # fmt: skip
    tie_file = CardFile(TIES, ties_sink.path.relative_to(out_dir).as_posix(), ties_sink.rows) if ties_sink else None
    card_columns = [name for name, _ in columns] if request.format in TRL_FORMATS else _record_keys(request)
    card = dataset_card(title=title, request=request, data=card_files, ties=tie_file, columns=card_columns)
    (out_dir / CARD_NAME).write_text(card, encoding="utf-8", newline="\n")
    entries = [(f.path, f.rows) for f in card_files] + ([(tie_file.path, tie_file.rows)] if tie_file else [])
    result.files = [
        {"path": path, "bytes": (out_dir / path).stat().st_size, "sha256": sha256_of(out_dir / path), "rows": count}
        for path, count in entries
    ]
    result.files.append({"path": CARD_NAME, "bytes": (out_dir / CARD_NAME).stat().st_size,
                         "sha256": sha256_of(out_dir / CARD_NAME)})  # fmt: skip
    return result


def _record_keys(request: ExportRequest) -> list[str]:
    if request.format == "openai":
        return ["info", "summaries", "choice", "worker", "batch", "split", "extra"]
    return ["chosen", "rejected"] if request.format == "hh" else ["*"]


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


def _empty_message(tally: Tally) -> str:
    if tally.judgments == 0:
        return "No judgments match this export's filters, so nothing was written."
    reasons = ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in sorted(tally.dropped.items()))
    return f"All {tally.judgments} matching judgment(s) were dropped ({reasons}), so nothing was written."
