"""Oracle judges of an experiment: the "gold" preference that simulated labelers answer by and that measures
every round's policy (Gao et al. 2022). Pure Python except the reward-model oracle, which scores through the
ML bridge; nothing here imports Django."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

_TOKEN = re.compile(r"[a-z0-9]+")
ROUGE_LENGTH_WEIGHT = 0.05
"""Weight of the length term of the rouge oracle: nats of |log length ratio| cost this much ROUGE-L F."""


class OracleError(ValueError):
    """A bad oracle spec, or a prompt the oracle cannot judge; the message says which."""


class Oracle(Protocol):
    name: str

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """One gold score per (prompt, response); higher is better."""
        ...


def rouge_tokens(text: str) -> list[str]:
    """Tokens as rouge-score's default tokenizer makes them: lower case, runs of [a-z0-9], no stemming."""
    return _TOKEN.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (dynamic programming over one row, O(len(a)·len(b)))."""
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, start=1):
            above = row[j]
            row[j] = diagonal + 1 if x == y else max(row[j], row[j - 1])
            diagonal = above
    return row[-1]


def rouge_l_f(candidate: str, reference: str) -> float:
    """ROUGE-L F1 of `candidate` against `reference` (Lin 2004, β = 1, as rouge-score computes it)."""
    cand, ref = rouge_tokens(candidate), rouge_tokens(reference)
    if not cand or not ref:
        return 0.0
    lcs = lcs_length(cand, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(cand), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_oracle_score(candidate: str, reference: str, *, length_weight: float = ROUGE_LENGTH_WEIGHT) -> float:
    """ROUGE-L F minus `length_weight` · |log((words + 1) / (reference words + 1))|: among responses with the
    same overlap, the one nearer the reference's length wins, and an empty or rambling response loses."""
    ratio = (len(rouge_tokens(candidate)) + 1) / (len(rouge_tokens(reference)) + 1)
    return rouge_l_f(candidate, reference) - length_weight * abs(math.log(ratio))


@dataclass
class RougeOracle:
    """ROUGE-L (with the length term) to each prompt's human reference."""

    references: Mapping[str, str]
    """Prompt text → its human reference."""
    length_weight: float = ROUGE_LENGTH_WEIGHT
    name: str = "rouge"

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        missing = sorted({p[:60] for p in prompts if p not in self.references})
        if missing:
            raise OracleError(f"the rouge oracle needs a human reference for every prompt; none for {missing[0]!r}")
        return [
            rouge_oracle_score(r, self.references[p], length_weight=self.length_weight)
            for p, r in zip(prompts, responses, strict=True)
        ]


Scorer = Callable[[list[str], list[str]], list[float]]


@dataclass
class RewardModelOracle:
    """A separately trained "gold" reward model (a folder), scored with rewards.scoring; scores are cached
    per (prompt, response), since labelers and measurements ask about the same texts again."""

    folder: Path
    scorer: Scorer
    name: str = "rm"
    _cache: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        keys = list(zip(prompts, responses, strict=True))
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if todo:
            fresh = self.scorer([p for p, _ in todo], [r for _, r in todo])
            self._cache.update(zip(todo, fresh, strict=True))
        return [self._cache[k] for k in keys]


def oracle_spec_check(spec: str) -> tuple[str, Path | None]:
    """("rouge", None) or ("rm", folder) for a spec `rouge` / `rm:/path/to/folder`; OracleError otherwise."""
    if spec == "rouge":
        return "rouge", None
    if spec.startswith("rm:"):
        folder = Path(spec[3:]).expanduser()
        if not spec[3:] or not (folder / "config.json").is_file():
            raise OracleError(f"oracle {spec!r}: {folder} is not a reward-model folder (no config.json)")
        return "rm", folder
    raise OracleError(f"unknown oracle {spec!r}; use 'rouge' or 'rm:/path/to/reward-model-folder'")


def oracle_preference(oracle: Oracle) -> Callable[[str, str, str], float]:
    """(prompt, left, right) → g(left) − g(right), the simulated labelers' view of an oracle."""

    def prefer(prompt: str, left: str, right: str) -> float:
        g_left, g_right = oracle.score([prompt, prompt], [left, right])
        return g_left - g_right

    return prefer
