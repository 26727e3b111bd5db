"""What an export asks for: format, filters, aggregation and split, validated into one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from labeling.services.errors import DomainError

from .aggregate import AGREEMENT_ORDER as AGREEMENT_LEVELS

FORMATS = ("trl", "trl-parquet", "hf", "openai", "hh", "raw")
AGGREGATIONS = ("pair", "judgment")
# What happens to a tie: dropped, kept as a soft label 0.5, or kept with margin 0.
TIE_POLICIES = ("drop", "soft", "margin0")
SPLITS = ("train", "validation", "test")


class ExportRequestError(DomainError):
    code = "export_invalid"


@dataclass(frozen=True)
class ExportRequest:
    """Every knob of an export; saved in the manifest so the same request reproduces the same files."""

    format: str
    aggregation: str = "pair"
    ties: str = "drop"
    include_margin: bool = False
    batches: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()  # keep pairs where either sample comes from one of these policies
    since: datetime | None = None  # judgments created at or after
    until: datetime | None = None  # judgments created before
    min_agreement: str = "split"
    include_excluded_labelers: bool = False
    include_gold: bool = False
    include_flagged: bool = False
    include_both_bad: bool = False  # only the raw format can express "both bad"
    all_revisions: bool = False  # raw format only: superseded revisions too
    split: tuple[float, float, float] = (0.9, 0.05, 0.05)
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.format not in FORMATS:
            problems.append(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.aggregation not in AGGREGATIONS:
            problems.append(f"unknown aggregation {self.aggregation!r}; choose one of {', '.join(AGGREGATIONS)}")
        if self.ties not in TIE_POLICIES:
            problems.append(f"unknown tie policy {self.ties!r}; choose one of {', '.join(TIE_POLICIES)}")
        if self.min_agreement not in AGREEMENT_LEVELS:
            problems.append(
                f"unknown agreement level {self.min_agreement!r}; choose one of {', '.join(AGREEMENT_LEVELS)}"
            )
        if len(self.split) != 3 or any(not 0 <= f <= 1 for f in self.split) or abs(sum(self.split) - 1) > 1e-6:
            problems.append("split must be three fractions (train, validation, test) in [0, 1] summing to 1")
        if self.since and self.until and self.since >= self.until:
            problems.append("the date range is empty: 'since' must be before 'until'")
        if self.include_both_bad and self.format != "raw":
            problems.append("'both bad' judgments have no chosen answer; only the raw format can include them")
        if self.format == "hh" and self.ties != "drop":
            problems.append("an HH-RLHF transcript pair cannot express a tie; use ties='drop' with the hh format")
        if self.all_revisions and self.format != "raw":
            problems.append("superseded revisions can only be exported in the raw format")
        if problems:
            raise ExportRequestError("Invalid export request: " + "; ".join(problems) + ".")

    @property
    def min_agreement_rank(self) -> int:
        return AGREEMENT_LEVELS.index(self.min_agreement)

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["batches"], data["policies"], data["split"] = list(self.batches), list(self.policies), list(self.split)
        data["since"] = self.since.isoformat() if self.since else None
        data["until"] = self.until.isoformat() if self.until else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportRequest:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ExportRequestError(f"Unknown export options: {', '.join(sorted(unknown))}.")
        values = dict(data)
        for key in ("since", "until"):
            if isinstance(values.get(key), str):
                try:
                    values[key] = datetime.fromisoformat(values[key])
                except ValueError as exc:
                    raise ExportRequestError(f"{key} {values[key]!r} is not an ISO date or date-time.") from exc
        for key in ("batches", "policies"):
            if key in values:
                values[key] = tuple(str(v) for v in values[key] or ())
        if "split" in values:
            try:
                values["split"] = tuple(float(v) for v in values["split"])
            except (TypeError, ValueError) as exc:
                raise ExportRequestError("split must be three numbers.") from exc
        return cls(**values)


def round_batch(number: int) -> str:
    """The batch name the training-rounds app gives the pairs it generates for round `number` of a project."""
    return f"round-{number}"
