"""How one export row looks in each format. Key order is fixed, so identical requests give identical bytes."""

from __future__ import annotations

from typing import Any

from labeling.stats.choices import BOTH_BAD, TIE, A, B

from .aggregate import JudgmentRecord, PairInfo, PreferenceRow
from .layout import HH_ASSISTANT as HH_ASSISTANT_TURN
from .layout import PromptLayout


def trl_columns(*, include_margin: bool, per_judgment: bool, conversational: bool) -> list[tuple[str, str]]:
    """(name, type) of the TRL preference columns; RewardTrainer reads prompt/chosen/rejected/margin, ignores the rest."""
    text = "messages" if conversational else "string"
    columns = [("prompt", text), ("chosen", text), ("rejected", text)]
    if include_margin:
        columns.append(("margin", "float64"))
    columns += [("agreement", "string"), ("pair_id", "int64")]
    if per_judgment:
        columns.append(("worker", "string"))
    return columns


def trl_record(
    row: PreferenceRow, *, layout: PromptLayout, conversational: bool, worker: str | None, include_margin: bool,
    per_judgment: bool,
) -> dict[str, Any]:  # fmt: skip
    prompt = row.pair.prompt
    record: dict[str, Any]
    if conversational:
        record = {
            "prompt": layout.prompt_messages(prompt),
            "chosen": layout.response_messages(row.chosen_text),
            "rejected": layout.response_messages(row.rejected_text),
        }
    else:
        record = {
            "prompt": layout.prompt_text(prompt),
            "chosen": layout.response_text(prompt, row.chosen_text),
            "rejected": layout.response_text(prompt, row.rejected_text),
        }
    if include_margin:
        record["margin"] = row.margin
    record["agreement"] = row.agreement
    record["pair_id"] = row.pair.pair_id
    if per_judgment:
        record["worker"] = worker
    return record


def tie_columns(*, per_judgment: bool) -> list[tuple[str, str]]:
    """A tie row names its responses a/b, never chosen/rejected, so no trainer can read it as a preference."""
    columns = [("prompt", "string"), ("response_a", "string"), ("response_b", "string"), ("agreement", "string"),
               ("pair_id", "int64"), ("split", "string")]  # fmt: skip
    return columns + ([("worker", "string")] if per_judgment else [])


def tie_record(row: PreferenceRow, *, worker: str | None, split: str, per_judgment: bool) -> dict[str, Any]:
    pair = row.pair
    record: dict[str, Any] = {
        "prompt": pair.prompt, "response_a": pair.text_a, "response_b": pair.text_b, "agreement": row.agreement,
        "pair_id": pair.pair_id, "split": split,
    }  # fmt: skip
    if per_judgment:
        record["worker"] = worker
    return record


# Stiennon et al. 2020 release: splits train / valid1 / valid2 (our train / validation / test).
OPENAI_SPLITS = {"train": "train", "validation": "valid1", "test": "valid2"}
VOTE_KEYS = (A, B, TIE, BOTH_BAD)
CONSENSUS_WORKER = "consensus"


def openai_record(row: PreferenceRow, *, worker: str | None, split: str) -> dict[str, Any]:
    """summarize-from-feedback comparisons, field for field: summaries in canonical order, `choice` the integer
    index of the preferred one (None only in the separate ties file), `extra` with the same keys on every row."""
    pair = row.pair
    meta = pair.prompt_metadata or {}
    choice = None if row.chosen == TIE else (1 if row.chosen == B else 0)
    confidence = None if row.confidence is None else round(row.confidence)
    return {
        "info": {
            "id": pair.prompt_hash,
            "post": pair.prompt,
            "title": _text_or_none(meta.get("title")),
            "subreddit": _text_or_none(meta.get("subreddit")),
        },
        "summaries": [
            {"text": pair.text_a, "policy": pair.policy_a, "note": None},
            {"text": pair.text_b, "policy": pair.policy_b, "note": None},
        ],
        "choice": choice,
        "worker": worker if worker is not None else CONSENSUS_WORKER,
        "batch": pair.batch,
        "split": OPENAI_SPLITS[split],
        "extra": {
            "confidence": confidence,
            "agreement": row.agreement,
            "votes": {key: row.votes.get(key, 0) for key in VOTE_KEYS},
            "margin": row.margin,
            "pair_id": pair.pair_id,
        },
    }


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def hh_transcript(prompt: str, response: str) -> str:
    """An HH-RLHF transcript: prompts imported from HH already end with the Assistant turn; others get wrapped."""
    if prompt.rstrip().endswith(HH_ASSISTANT_TURN.strip()):
        return f"{prompt} {response}"
    return f"\n\nHuman: {prompt}{HH_ASSISTANT_TURN} {response}"


def hh_record(row: PreferenceRow) -> dict[str, Any]:
    return {
        "chosen": hh_transcript(row.pair.prompt, row.chosen_text),
        "rejected": hh_transcript(row.pair.prompt, row.rejected_text),
    }


def raw_record(
    *, pair: PairInfo, judgment: JudgmentRecord, worker: str, agreement: str, split: str, flags: list[dict[str, Any]]
) -> dict[str, Any]:
    """Every stored fact about one comparison, for analysis; `swapped` means sample_b was displayed first."""
    return {
        "comparison_id": judgment.comparison_id,
        "pair_id": pair.pair_id,
        "prompt_id": pair.prompt_id,
        "prompt": pair.prompt,
        "response_a": pair.text_a,
        "response_b": pair.text_b,
        "policy_a": pair.policy_a,
        "policy_b": pair.policy_b,
        "batch": pair.batch,
        "is_gold": pair.is_gold,
        "worker": worker,
        "choice": judgment.choice,
        "confidence": judgment.confidence,
        "shown_choice": judgment.shown_choice,
        "shown_confidence": judgment.shown_confidence,
        "swapped": judgment.swapped,
        "time_spent_ms": judgment.time_spent_ms,
        "revision": judgment.revision,
        "is_current": judgment.is_current,
        "created_at": judgment.created_at.isoformat(),
        "rationale": judgment.rationale,
        "agreement": agreement,
        "split": split,
        "flags": flags,
    }
