"""What an export asks for: format, layout, filters, aggregation and split, validated into one frozen dataclass.

The dataclass is the one list of export fields: the API serializer, the command's arguments and the exports
panel's form all derive from `ExportRequest`'s fields and their `ExportField` metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from common.errors import DomainError

from .aggregate import AGREEMENT_ORDER as AGREEMENT_LEVELS

FORMATS = ("trl", "trl-parquet", "hf", "openai", "hh", "raw")
# The formats TRL's RewardTrainer / DPOTrainer (and OpenRLHF's reward dataset) read as prompt/chosen/rejected.
TRL_FORMATS = ("trl", "trl-parquet", "hf")
AGGREGATIONS = ("pair", "judgment")
# What happens to a tie: dropped, written to a separate ties file/config that no trainer loads as preferences,
# or kept as a soft label 0.5 (refused for the TRL, openai and hh formats, whose consumers read no soft label).
TIE_POLICIES = ("drop", "separate", "soft")
# chat: the project's instruction template inside the model's chat template, exactly as Arbiter's reward model and
# PPO see it (rewards/layout.py); bare: the prompt text as stored, each response starting with the separator a
# plain-text join needs; stored: prompt and responses exactly as stored, for trainers that lay them out themselves.
PROMPT_LAYOUTS = ("chat", "bare", "stored")
STYLES = ("standard", "conversational")
SPLITS = ("train", "validation", "test")


class ExportRequestError(DomainError):
    code = "export_invalid"


@dataclass(frozen=True)
class ExportField:
    """How one request field is offered outside Python: its help text, command flag, and choices."""

    help: str
    choices: tuple[str, ...] = ()
    flag: str = ""  # the command's flag when it is not --<name-with-dashes>
    repeatable: bool = False  # the command takes one value per flag (--batch a --batch b)


def _opt(help: str, **kwargs: Any) -> dict[str, ExportField]:
    return {"export": ExportField(help, **kwargs)}


@dataclass(frozen=True)
class ExportRequest:
    """Every knob of an export; saved in the manifest so the same request reproduces the same files."""

    format: str = field(metadata=_opt("data layout of the files", choices=FORMATS))
    aggregation: str = field(
        default="",
        metadata=_opt(
            "one row per pair by strict majority, or one row per judgment (default: judgment for openai, "
            "as the summarize-from-feedback release, else pair)",
            choices=AGGREGATIONS,
        ),
    )
    ties: str = field(
        default="drop",
        metadata=_opt(
            "drop ties; separate: write them to a ties file no trainer loads as preferences; soft: label 0.5 "
            "(refused for the TRL, openai and hh formats)",
            choices=TIE_POLICIES,
        ),
    )
    prompt_layout: str = field(
        default="chat",
        metadata=_opt(
            "TRL formats: chat = the text Arbiter's reward model and PPO see; bare = stored prompt, responses "
            "start with a separator; stored = texts exactly as stored",
            choices=PROMPT_LAYOUTS,
        ),
    )
    style: str = field(
        default="standard",
        metadata=_opt("TRL formats: plain strings, or conversational message lists", choices=STYLES),
    )
    tokenizer: str = field(
        default="",
        metadata=_opt(
            "model name or folder whose chat template lays out chat prompts (default: the project's initial policy)"
        ),
    )
    include_margin: bool = field(
        default=False, metadata=_opt("add a margin column from the confidence scale", flag="margin")
    )
    batches: tuple[str, ...] = field(
        default=(), metadata=_opt("only pairs of this batch", flag="batch", repeatable=True)
    )
    policies: tuple[str, ...] = field(
        default=(), metadata=_opt("only pairs with a sample from this policy", flag="policy", repeatable=True)
    )
    since: datetime | None = field(default=None, metadata=_opt("judgments made at or after this date"))
    until: datetime | None = field(default=None, metadata=_opt("judgments made before this date"))
    min_agreement: str = field(default="split", metadata=_opt("weakest agreement level kept", choices=AGREEMENT_LEVELS))
    include_excluded_labelers: bool = field(default=False, metadata=_opt("keep judgments of excluded labelers"))
    include_gold: bool = field(default=False, metadata=_opt("keep gold pairs"))
    include_flagged: bool = field(default=False, metadata=_opt("keep pairs with unresolved flags"))
    include_both_bad: bool = field(default=False, metadata=_opt("raw format only: keep 'both bad' judgments"))
    all_revisions: bool = field(default=False, metadata=_opt("raw format only: superseded revisions too"))
    split: tuple[float, float, float] = field(
        default=(0.9, 0.05, 0.05), metadata=_opt("train,validation,test fractions by prompt")
    )
    seed: int = field(default=0, metadata=_opt("seed of the split draw"))

    def __post_init__(self) -> None:
        if not self.aggregation:
            object.__setattr__(self, "aggregation", "judgment" if self.format == "openai" else "pair")
        problems = []
        for name in ("format", "aggregation", "ties", "prompt_layout", "style", "min_agreement"):
            choices = export_field(name).choices
            if getattr(self, name) not in choices:
                problems.append(f"unknown {name} {getattr(self, name)!r}; choose one of {', '.join(choices)}")
        if len(self.split) != 3 or any(not 0 <= f <= 1 for f in self.split) or abs(sum(self.split) - 1) > 1e-6:
            problems.append("split must be three fractions (train, validation, test) in [0, 1] summing to 1")
        if self.since and self.until and self.since >= self.until:
            problems.append("the date range is empty: 'since' must be before 'until'")
        if self.include_both_bad and self.format != "raw":
            problems.append("'both bad' judgments have no chosen answer; only the raw format can include them")
        if self.format == "hh" and self.ties != "drop":
            problems.append("an HH-RLHF transcript pair cannot express a tie; use ties='drop' with the hh format")
        if self.ties == "soft" and self.format in TRL_FORMATS:
            problems.append(
                "TRL's RewardTrainer and DPOTrainer read only prompt/chosen/rejected (and margin), never a soft "
                "label, so a soft tie would train as 'chosen preferred'; use ties='drop' or ties='separate'"
            )
        if self.ties == "soft" and self.format == "openai":
            problems.append("summarize-from-feedback's choice is an integer index; use ties='drop' or 'separate'")
        if self.style == "conversational" and self.format not in TRL_FORMATS:
            problems.append(f"style='conversational' is for the {', '.join(TRL_FORMATS)} formats")
        if self.all_revisions and self.format != "raw":
            problems.append("superseded revisions can only be exported in the raw format")
        if problems:
            raise ExportRequestError("Invalid export request: " + "; ".join(problems) + ".")

    @property
    def min_agreement_rank(self) -> int:
        return AGREEMENT_LEVELS.index(self.min_agreement)

    @property
    def per_judgment(self) -> bool:
        return self.aggregation == "judgment"

    @property
    def needs_tokenizer(self) -> bool:
        """Only chat-laid-out plain strings are rendered here; conversational rows leave the template to the trainer."""
        return self.format in TRL_FORMATS and self.prompt_layout == "chat" and self.style == "standard"

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


def export_field(name: str) -> ExportField:
    return next(f.metadata["export"] for f in fields(ExportRequest) if f.name == name)


def export_fields() -> list[tuple[str, str, Any, ExportField]]:
    """(name, kind, default, metadata) of every request field; kind is one of
    choice, text, bool, list, date, fractions, int. `format` has no default (None)."""
    kinds = {"bool": "bool", "int": "int", "datetime | None": "date", "tuple[str, ...]": "list"}
    out = []
    for f in fields(ExportRequest):
        meta: ExportField = f.metadata["export"]
        kind = "choice" if meta.choices else kinds.get(str(f.type), "fractions" if f.name == "split" else "text")
        default = None if f.name == "format" else f.default
        out.append((f.name, kind, default, meta))
    return out


def round_batch(number: int) -> str:
    """The batch name the training-rounds app gives the pairs it generates for round `number` of a project."""
    return f"round-{number}"
