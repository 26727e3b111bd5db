"""What an experiment measures after each round, on held-out prompts the loop never trained on: oracle score,
oracle win rates with Wilson intervals, KL to the initial policy, the proxy reward model's accuracy on oracle
labels, length and EOS rate, labeler agreement, and the best-of-n baseline on the round's reward model."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labeling.models import Comparison, Policy
from labeling.stats import agreement
from labeling.stats.choices import CHOICE_CODES, PREFERENCE_CHOICES
from labeling.stats.intervals import wilson_interval
from rounds import ml_bridge
from rounds.config import RoundSettings
from rounds.experiment.oracle import Oracle
from rounds.models import TrainingRound
from rounds.policies import policy_best_of_n

Step = Callable[[str], None]
# Seed offsets of the experiment's own sampling, apart from the rounds' (1000·round, 777, 778).
INITIAL_SEED_OFFSET, POLICY_SEED_OFFSET, BON_SEED_OFFSET = 50_000, 60_000, 70_000


@dataclass(frozen=True)
class HeldOut:
    """The measurement set: each held-out prompt `repeats` times, and the human reference of each row."""

    prompts: list[str]
    references: list[str | None]


@dataclass(frozen=True)
class Responses:
    """One response per held-out row with its oracle score."""

    texts: list[str]
    oracle: list[float]
    num_tokens: list[int]
    has_eos: list[bool]

    def summary(self) -> dict[str, float]:
        n = len(self.texts)
        scores = np.asarray(self.oracle, dtype=np.float64)
        return {
            "oracle_score": float(scores.mean()),
            "oracle_score_sem": float(scores.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
            "response_length": sum(self.num_tokens) / n,
            "eos_rate": sum(self.has_eos) / n,
        }


def rate(successes: float, n: int) -> dict[str, Any]:
    """A proportion with its Wilson 95 % interval (labeling.stats.intervals); None figures at n = 0."""
    if n == 0:
        return {"value": None, "low": None, "high": None, "n": 0}
    low, high = wilson_interval(successes, n)
    return {"value": successes / n, "low": low, "high": high, "n": n}


def win_rate(scores: Sequence[float], against: Sequence[float | None]) -> dict[str, Any]:
    """Share of rows where `scores` beats `against` (a tie is half a win; rows with no opponent are left out)."""
    rows = [(s, a) for s, a in zip(scores, against, strict=True) if a is not None]
    wins = sum(1.0 if s > a else 0.5 if s == a else 0.0 for s, a in rows)
    return rate(wins, len(rows))


def oracle_accuracy(oracle: Sequence[Sequence[float]], proxy: Sequence[Sequence[float]]) -> dict[str, Any]:
    """How often the proxy reward model orders two responses as the oracle does, over every pair of the
    response sets (rows × sets); pairs the oracle ties are left out, a proxy tie counts half."""
    gold, rm = np.asarray(oracle, dtype=np.float64), np.asarray(proxy, dtype=np.float64)  # (sets, rows)
    correct, n = 0.0, 0
    for i in range(len(gold)):
        for j in range(i + 1, len(gold)):
            g, r = np.sign(gold[i] - gold[j]), np.sign(rm[i] - rm[j])  # (rows,)
            decided = g != 0
            correct += float(np.sum((g == r) & decided)) + 0.5 * float(np.sum((r == 0) & decided))
            n += int(decided.sum())
    return rate(correct, n)


def round_agreement(*, training_round: TrainingRound) -> dict[str, Any]:
    """Agreement of the round's judgments (its own batch): pairwise percent agreement and nominal
    Krippendorff's alpha over a/b/tie (labeling.stats.agreement), on pairs with two or more judgments."""
    rows = Comparison.objects.filter(
        pair__project_id=training_round.project_id, pair__batch=training_round.batch, is_current=True,
        choice__in=PREFERENCE_CHOICES,
    ).values_list("pair_id", "choice")  # fmt: skip
    pair_index: dict[int, int] = {}
    counts: list[list[int]] = []
    for pair_id, choice in rows:
        if pair_id not in pair_index:
            pair_index[pair_id] = len(counts)
            counts.append([0] * len(PREFERENCE_CHOICES))
        counts[pair_index[pair_id]][CHOICE_CODES[choice]] += 1
    value_counts = np.asarray(counts, dtype=np.float64).reshape(-1, len(PREFERENCE_CHOICES))  # (pairs, 3)
    pairable = int((value_counts.sum(axis=1) >= 2).sum())
    result: dict[str, Any] = {"judgments": int(value_counts.sum()), "pairs": len(counts), "pairs_multi": pairable}
    if pairable == 0:
        return {**result, "percent_agreement": None, "alpha_nominal": None}
    alpha = agreement.alpha_from_value_counts(value_counts, level_of_measurement="nominal")
    return {
        **result,
        "percent_agreement": agreement.percent_agreement_from_value_counts(value_counts),
        "alpha_nominal": None if math.isnan(alpha) else alpha,
    }


def policy_rows(
    *,
    settings: RoundSettings,
    policy: Policy,
    references: list[Path],
    reward_model: Path,
    prompts: list[str],
    seed_offset: int,
    progress,
) -> tuple[list, dict[str, float | None]]:
    """(evaluated responses, best-of-n KLs) of one response per prompt from `policy`, in this process (a round's
    evaluation phase launches the same `python -m training evaluate`): the one policy evaluation for a model,
    best-of-n (its analytic and measured KL, no per-token KL) for a best-of-n policy."""
    best = policy_best_of_n(policy)
    if best is None:
        rows = ml_bridge.policy_responses_evaluate(
            settings=settings, policy=ml_bridge.model_dir(policy.artifact_path), references=references,
            reward_model=reward_model, prompts=prompts, seed_offset=seed_offset, progress=progress,
        )  # fmt: skip
        return rows, {}
    rows, analytic, measured = ml_bridge.best_of_n_evaluate(
        settings=settings, policy=ml_bridge.model_dir(best.base.artifact_path), ranking_model=best.reward_model_dir,
        reward_model=reward_model, n=best.n, prompts=prompts, seed_offset=seed_offset, progress=progress,
    )  # fmt: skip
    return rows, best.figures(kl_analytic=analytic, kl_measured=measured)


def policy_responses(
    *,
    settings: RoundSettings,
    policy: Policy,
    initial: Policy,
    reward_model: Path,
    held: HeldOut,
    oracle: Oracle,
    seed_offset: int,
) -> tuple[Responses, dict[str, Any]]:
    """(responses judged by the oracle, KL to the initial policy) of one sample per held-out row, through the
    round's one policy evaluation (training.ppo.evaluate; best-of-n for a best-of-n policy). The KL part has
    `kl_to_initial` (per-token k1 for a model, best-of-n's measured KL, else its analytic one, when its base is
    the initial policy) and for best-of-n also `kl_analytic` and `kl_measured`."""
    initial_dir = ml_bridge.model_dir(initial.artifact_path)
    references = [] if policy.id == initial.id else [initial_dir]
    rows, best = policy_rows(
        settings=settings, policy=policy, references=references, reward_model=reward_model, prompts=held.prompts,
        seed_offset=seed_offset, progress=None,
    )  # fmt: skip
    texts = [row.text for row in rows]
    responses = Responses(
        texts=texts, oracle=oracle.score(held.prompts, texts), num_tokens=[row.num_tokens for row in rows],
        has_eos=[row.has_eos for row in rows],
    )  # fmt: skip
    kl: dict[str, Any] = {"kl_to_initial": 0.0 if not references else None}
    if best:
        based_on_initial = best["best_of_n_base"] == initial.id
        measured = best["kl_measured"] if best["kl_measured"] is not None else best["kl_analytic"]
        kl = {"kl_to_initial": measured if based_on_initial else None, **best}
    elif references:
        kl["kl_to_initial"] = ml_bridge.evaluation_summary(rows)["kl"]
    return responses, kl


def round_measure(
    *,
    training_round: TrainingRound,
    settings: RoundSettings,
    held: HeldOut,
    oracle: Oracle,
    initial: Responses,
    reference_scores: list[float | None],
    best_of_n: int,
    bon_kl_samples: int,
    step: Step,
) -> dict[str, Any]:
    """Every per-round figure of the experiment report for a round that is done."""
    r = training_round
    assert r.new_policy is not None and r.reward_model is not None, "a done round has a new policy and reward model"
    initial_dir = ml_bridge.model_dir(r.initial_policy.artifact_path)
    reward_model = Path(r.reward_model.artifact_path)
    step("measuring the round's policy")
    policy, kl = policy_responses(
        settings=settings, policy=r.new_policy, initial=r.initial_policy, reward_model=reward_model, held=held,
        oracle=oracle, seed_offset=POLICY_SEED_OFFSET + r.number,
    )  # fmt: skip
    step(f"best-of-{best_of_n} on the round's reward model")
    bon = ml_bridge.best_of_n_run(
        settings=settings, policy=initial_dir, reward_model=reward_model, prompts=held.prompts, n=best_of_n,
        kl_reference_samples=bon_kl_samples, seed_offset=BON_SEED_OFFSET + 100 * r.number, progress=None,
    )  # fmt: skip
    bon_texts = [c.text for c in bon.choices]
    bon_responses = Responses(
        texts=bon_texts, oracle=oracle.score(held.prompts, bon_texts),
        num_tokens=[c.num_tokens for c in bon.choices], has_eos=[c.finished_with_eos for c in bon.choices],
    )  # fmt: skip
    step("scoring with the round's reward model")
    sets = [initial, policy, bon_responses]
    proxy = ml_bridge.responses_score(
        reward_model=reward_model, prompts=held.prompts * len(sets), responses=[t for s in sets for t in s.texts]
    )
    n = len(held.prompts)
    proxy_sets = [proxy[i * n : (i + 1) * n] for i in range(len(sets))]
    ppo_metrics = r.metrics.get("ppo") or {}
    sampling = r.metrics.get("sampling") or {}
    return {
        "round": r.number,
        "round_id": r.id,
        "policy": r.new_policy.name,
        "optimizer": settings.optimizer,
        "policy_eval": {
            **policy.summary(),
            **kl,
            "win_rate_vs_initial": win_rate(policy.oracle, initial.oracle),
            "win_rate_vs_reference": win_rate(policy.oracle, reference_scores),
            "proxy_rm_score": float(np.mean(proxy_sets[1])),
        },
        "best_of_n": {
            **bon_responses.summary(),
            "n": best_of_n,
            "kl_analytic": bon.analytic_kl,
            "kl_measured": bon.measured_kl,
            "kl_reference_samples": bon_kl_samples,
            "win_rate_vs_initial": win_rate(bon_responses.oracle, initial.oracle),
            "win_rate_vs_reference": win_rate(bon_responses.oracle, reference_scores),
            "proxy_rm_score": float(np.mean(proxy_sets[2])),
        },
        "reward_model": {
            "oracle_accuracy": oracle_accuracy([s.oracle for s in sets], proxy_sets),
            "label_accuracy": (r.metrics.get("reward_model") or {}).get("accuracy"),
            "label_accuracy_n": (r.metrics.get("reward_model") or {}).get("n"),
            "train_pairs": (r.metrics.get("reward_model") or {}).get("train_pairs"),
        },
        "agreement": round_agreement(training_round=r),
        "sampling": {k: sampling.get(k) for k in ("prompts", "pairs", "pair_kinds", "eos_rate", "pair_selection")},
        "ppo": {"steps": ppo_metrics.get("steps"), "final": (ppo_metrics.get("curve") or [{}])[-1]},
        "phase_seconds": r.phase_seconds,
    }
