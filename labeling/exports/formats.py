"""How one export row looks in each format. Key order is fixed, so identical requests give identical bytes."""

from __future__ import annotations

from typing import Any

from .aggregate import TIE, B, JudgmentRecord, PairInfo, PreferenceRow

HH_ASSISTANT_TURN = "\n\nAssistant:"


def trl_columns(*, include_margin: bool, soft_labels: bool, per_judgment: bool) -> list[tuple[str, str]]:
    """(name, type) of the TRL preference columns; RewardTrainer reads prompt/chosen/rejected/margin, ignores the rest."""
    columns = [("prompt", "string"), ("chosen", "string"), ("rejected", "string")]
    if include_margin:
        columns.append(("margin", "float64"))
    if soft_labels:
        columns.append(("label", "float64"))
    columns += [("agreement", "string"), ("pair_id", "int64")]
    if per_judgment:
        columns.append(("worker", "string"))
    return columns


def trl_record(
    row: PreferenceRow, *, worker: str | None, include_margin: bool, soft_labels: bool, per_judgment: bool
) -> dict[str, Any]:
    record: dict[str, Any] = {"prompt": row.pair.prompt, "chosen": row.chosen_text, "rejected": row.rejected_text}
    if include_margin:
        record["margin"] = row.margin
    if soft_labels:
        record["label"] = row.label
    record["agreement"] = row.agreement
    record["pair_id"] = row.pair.pair_id
    if per_judgment:
        record["worker"] = worker
    return record


def openai_record(row: PreferenceRow, *, worker: str | None, split: str) -> dict[str, Any]:
    """Stiennon et al. 2020 comparisons: summaries in canonical order, `choice` the index of the preferred one."""
    pair = row.pair
    choice: float = 0.5 if row.chosen == TIE else (1 if row.chosen == B else 0)
    extra: dict[str, Any] = {"confidence": row.confidence, "agreement": row.agreement, "votes": row.votes}
    if row.margin is not None:
        extra["margin"] = row.margin
    return {
        "info": {"id": pair.prompt_hash, "post": pair.prompt, "pair_id": pair.pair_id},
        "summaries": [{"text": pair.text_a, "policy": pair.policy_a}, {"text": pair.text_b, "policy": pair.policy_b}],
        "choice": choice,
        "worker": worker,
        "batch": pair.batch,
        "split": split,
        "extra": extra,
    }


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
