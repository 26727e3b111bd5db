"""Preference examples in the TRL format (prompt, chosen, rejected, optional margin) and their loaders."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class PreferenceExample:
    prompt: str
    chosen: str
    rejected: str
    margin: float | None = None
    """How much more `chosen` should score than `rejected` (e.g. from a labeler's confidence); None = unknown."""


def _open_text(path: Path) -> TextIO:
    return gzip.open(path, "rt", encoding="utf-8") if str(path).endswith(".gz") else open(path, encoding="utf-8")


def load_preferences(path: Path | str) -> list[PreferenceExample]:
    """Read TRL preference JSONL (`prompt`, `chosen`, `rejected`, optional `margin`), .gz allowed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"preference file {path} does not exist")
    examples: list[PreferenceExample] = []
    with _open_text(path) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{where}: expected a JSON object")
            missing = [key for key in ("prompt", "chosen", "rejected") if not isinstance(row.get(key), str)]
            if missing:
                raise ValueError(f"{where}: missing or non-string field(s) {', '.join(missing)}")
            margin = row.get("margin")
            if margin is not None and (not isinstance(margin, (int, float)) or not math.isfinite(margin)):
                raise ValueError(f"{where}: margin must be a finite number, got {margin!r}")
            examples.append(PreferenceExample(row["prompt"], row["chosen"], row["rejected"], margin))
    if not examples:
        raise ValueError(f"{path}: no preference examples")
    return examples


def save_preferences(path: Path | str, examples: list[PreferenceExample]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for example in examples:
            row = {k: v for k, v in asdict(example).items() if v is not None}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def preferences_hash(examples: list[PreferenceExample]) -> str:
    """sha256 of the examples in order, so a trained model names the exact data it saw."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps(asdict(example), sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


HH_ASSISTANT = "\n\nAssistant:"


def split_hh_dialogue(chosen: str, rejected: str) -> tuple[str, str, str]:
    """HH-RLHF: (prompt, chosen answer, rejected answer); the prompt runs up to and including the last
    '\\n\\nAssistant:' the two dialogues share, so an answer that itself holds further turns stays whole.

    Raises ValueError when the dialogues share no Assistant turn.
    """
    common = 0
    limit = min(len(chosen), len(rejected))
    while common < limit and chosen[common] == rejected[common]:
        common += 1
    cut = chosen.rfind(HH_ASSISTANT, 0, common)
    if cut < 0:
        if HH_ASSISTANT not in chosen or HH_ASSISTANT not in rejected:
            raise ValueError("has no '\\n\\nAssistant:' turn")
        raise ValueError("chosen and rejected do not share a dialogue before an Assistant turn")
    end = cut + len(HH_ASSISTANT)
    return chosen[:end], chosen[end:].strip(), rejected[end:].strip()


def preferences_from_hh_rlhf(path: Path | str) -> tuple[list[PreferenceExample], int]:
    """Anthropic HH-RLHF dialogue pairs -> examples; prompt = shared text up to the last Assistant turn.

    Returns (examples, skipped) where skipped pairs share no Assistant turn to split on.
    """
    examples: list[PreferenceExample] = []
    skipped = 0
    with _open_text(Path(path)) as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            try:
                prompt, chosen, rejected = split_hh_dialogue(row["chosen"], row["rejected"])
            except ValueError:
                skipped += 1
                continue
            examples.append(PreferenceExample(prompt.strip(), chosen, rejected))
    return examples, skipped
