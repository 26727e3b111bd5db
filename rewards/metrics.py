"""Pure statistics for reward-model evaluation: pairwise accuracy, Wilson intervals, calibration."""

from __future__ import annotations

from typing import Any

import numpy as np

from labeling.stats.intervals import wilson_interval


def pairwise_calibration(margins: np.ndarray, *, bins: int = 10) -> dict[str, Any]:
    """Calibration of P(first preferred) = sigmoid(r_first - r_second) against what labelers chose.

    `margins` are r_chosen - r_rejected (N,). Each pair is read from the model's side: confidence
    max(p, 1-p) in [0.5, 1], correct when the model's favourite is the chosen response. Returns per-bin
    mean confidence, accuracy and count, plus the expected calibration error (count-weighted).
    """
    margins = np.asarray(margins, dtype=np.float64)  # (N,)
    p_chosen = 0.5 * (1.0 + np.tanh(margins / 2.0))  # sigmoid without overflow on large margins
    confidence = np.maximum(p_chosen, 1.0 - p_chosen)
    correct = margins > 0
    edges = np.linspace(0.5, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    table = []
    ece = 0.0
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        if count == 0:
            continue
        conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
        ece += count / len(margins) * abs(conf - acc)
        table.append(
            {"low": float(edges[b]), "high": float(edges[b + 1]), "confidence": conf, "accuracy": acc, "count": count}
        )
    return {"bins": table, "ece": ece}


def preference_metrics(chosen_scores: np.ndarray, rejected_scores: np.ndarray, *, bins: int = 10) -> dict[str, Any]:
    """Accuracy (ties count as wrong) with Wilson 95% CI, reward mean/std, calibration; NaN statistics (and interval) when empty."""
    chosen = np.asarray(chosen_scores, dtype=np.float64)  # (N,)
    rejected = np.asarray(rejected_scores, dtype=np.float64)  # (N,)
    if chosen.shape != rejected.shape:
        raise ValueError("chosen and rejected scores differ in length")
    margins = chosen - rejected
    n = len(margins)
    correct = int((margins > 0).sum())
    both = np.concatenate([chosen, rejected])
    return {
        "accuracy": correct / n if n else float("nan"),
        "n": n,
        "ci95": list(wilson_interval(correct, n)),
        "reward_mean": float(both.mean()) if n else float("nan"),
        "reward_std": float(both.std()) if n else float("nan"),
        "chosen_mean": float(chosen.mean()) if n else float("nan"),
        "rejected_mean": float(rejected.mean()) if n else float("nan"),
        "margin_mean": float(margins.mean()) if n else float("nan"),
        "calibration": pairwise_calibration(margins, bins=bins) if n else {"bins": [], "ece": float("nan")},
    }


def shorter_response_baseline(chosen: list[str], rejected: list[str]) -> dict[str, Any]:
    """The trivial reward model "the shorter response is better" (score = minus its characters), scored
    as any reward model is: equal lengths count as wrong. A learned model must beat it to show it reads content."""
    return preference_metrics(
        -np.array([len(t) for t in chosen], dtype=np.float64), -np.array([len(t) for t in rejected], dtype=np.float64)
    )
