"""The README.md dataset card of an export: fields, counts, tie policy, licence note, and the `configs` that
tell `datasets.load_dataset(folder)` which file holds which split."""

from __future__ import annotations

from dataclasses import dataclass

from .options import ExportRequest

FIELD_NOTES = {
    "trl": {
        "prompt": "the context; see 'Prompt layout' below",
        "chosen": "the preferred response",
        "rejected": "the other response",
        "margin": "how strongly the labelers preferred `chosen` (0 to 1, from the confidence scale)",
        "agreement": "unanimous, majority, single or split (the pair's agreement level)",
        "pair_id": "Arbiter's pair id",
        "worker": "pseudonymous labeler (per-judgment rows)",
    },
    "openai": {
        "info": "{id, post, title, subreddit}: the prompt",
        "summaries": "[{text, policy, note}, {text, policy, note}] in Arbiter's canonical order",
        "choice": "integer index into `summaries` of the preferred one",
        "worker": "pseudonymous labeler, or `consensus` for per-pair rows",
        "batch": "the pair's batch",
        "split": "train, valid1 or valid2",
        "extra": "{confidence (int, canonical scale: low = summaries[0] better), agreement, votes, margin, pair_id}",
    },
    "hh": {"chosen": "the full dialogue ending in the preferred answer", "rejected": "the same with the other answer"},
    "raw": {"*": "every stored fact about each judgment; see the README's export section"},
}
LAYOUT_NOTES = {
    "chat": "the project's instruction template inside the model's chat template, ending with the assistant header: "
    "exactly the text Arbiter's reward model and PPO see. Responses follow it directly.",
    "bare": "the prompt text as stored; each response starts with the separator a plain-text join needs.",
    "stored": "prompt and responses exactly as stored (for trainers that apply the layout themselves).",
}
TIE_NOTES = {
    "drop": "ties were dropped: no row is a tie.",
    "separate": "ties are in the separate `ties` config (columns response_a/response_b, never chosen/rejected), "
    "which no trainer loads by default.",
    "soft": "ties were kept as soft labels.",
}


@dataclass(frozen=True)
class CardFile:
    split: str
    path: str
    rows: int


def dataset_card(
    *, title: str, request: ExportRequest, data: list[CardFile], ties: CardFile | None, columns: list[str]
) -> str:
    """Zero-row splits are left out of `configs`: `datasets` refuses to load a split file without rows."""
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    lines += [f"  - split: {f.split}\n    path: {f.path}" for f in data if f.rows]
    if ties is not None and ties.rows:
        lines += ["- config_name: ties", "  data_files:", f"  - split: train\n    path: {ties.path}"]
    lines += ["---", "", f"# {title}", ""]
    lines.append(
        f"Preference data exported by Arbiter in the `{request.format}` format"
        + (f", {request.style} style" if request.format in ("trl", "trl-parquet", "hf") else "")
        + f", one row per {request.aggregation}. `manifest.json` next to this file records the full request, "
        "counts and file hashes."
    )
    lines += ["", "## Splits", "", "| split | file | rows |", "|---|---|---|"]
    lines += [f"| {f.split} | `{f.path}` | {f.rows} |" for f in data]
    if ties is not None:
        lines.append(f"| ties (config `ties`) | `{ties.path}` | {ties.rows} |")
    empty = [f.split for f in data if not f.rows]
    if empty:
        lines += ["", f"Empty splits ({', '.join(empty)}) have a file but are not listed in `configs`, because "
                  "`datasets` cannot load a split without rows; train with evaluation off (`--eval_strategy no`) "
                  "or name a non-empty split."]  # fmt: skip
    notes = FIELD_NOTES["trl" if request.format in ("trl", "trl-parquet", "hf") else request.format]
    lines += ["", "## Fields", ""]
    lines += [f"- `{name}`: {notes.get(name, '')}".rstrip(": ") for name in columns]
    if request.format in ("trl", "trl-parquet", "hf"):
        lines += ["", "## Prompt layout", "", f"`{request.prompt_layout}`: {LAYOUT_NOTES[request.prompt_layout]}"]
        if request.style == "conversational":
            lines.append("Conversational rows: `prompt` is a list of messages, `chosen`/`rejected` one assistant "
                         "message each; HH dialogues are their real turns.")  # fmt: skip
    lines += ["", "## Ties", "", TIE_NOTES[request.ties]]
    lines += ["", "## Licence", "",
              "The texts are the project's prompts and responses; they carry the licence of their sources, which "
              "Arbiter does not know. Labelers are pseudonymous (HMAC of the user id under a per-project key). "
              "Check both before publishing this dataset.", ""]  # fmt: skip
    return "\n".join(lines)
