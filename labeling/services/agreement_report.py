"""A project's agreement report: coefficients with bootstrap intervals, labeler quality, consensus, policy ranking."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Count

from common.errors import DomainError
from labeling.models import Assignment, AssignmentStatus, PairFlag, Policy, Project
from labeling.stats import agreement, consensus, ranking
from labeling.stats.arrays import dense_codes, group_median
from labeling.stats.bootstrap import Interval, bootstrap_interval, row_patterns
from labeling.stats.choices import BOTH_BAD_CODE, PREFERENCE_CHOICES

from .agreement_data import ComparisonArrays, comparison_arrays
from .exclusions import excluded_labeler_ids

# Agreement, consensus and ranking use the non-gold pairs and the labelers who are not excluded; gold pairs score
# gold accuracy. Choices are nominal a/b/tie in the pairs' canonical order (both-bad is missing, counted apart);
# the canonical confidence scale is the ordinal variable.

DEFAULT_RESAMPLES = 1000


@dataclass(frozen=True)
class Coefficient:
    name: str
    variable: str  # "choice" (nominal a/b/tie) or "confidence" (ordinal scale)
    interval: Interval
    n_units: int
    n_judgments: int
    note: str = ""

    def as_dict(self) -> dict:
        return {**asdict(self), "interval": self.interval.as_dict(), "value": self.interval.estimate}


@dataclass(frozen=True)
class LabelerRow:
    labeler_id: int
    username: str
    n_judgments: int
    n_scored: int  # judgments whose pair has a leave-one-out plurality to compare with
    agreement: float | None
    agreement_low: float | None
    agreement_high: float | None
    kappa: float | None
    n_gold: int
    gold_accuracy: float | None
    median_time_ms: float | None
    n_closed_assignments: int
    skip_rate: float | None
    flag_rate: float | None
    both_bad_rate: float | None
    excluded: bool
    needs_review: bool


@dataclass(frozen=True)
class SplitPair:
    pair_id: int
    votes: dict[str, int]
    level: str


@dataclass(frozen=True)
class PolicyRow:
    policy_id: int
    name: str
    rating: float
    rating_low: float | None
    rating_high: float | None
    n_comparisons: int
    win_rate: float | None


@dataclass(frozen=True)
class AgreementReport:
    project: str
    review_threshold: float
    n_judgments: int
    n_pairs: int
    n_labelers: int
    n_both_bad: int
    excluded_labeler_ids: list[int]
    coefficients: list[Coefficient]
    consensus_levels: dict[str, int]
    labelers: list[LabelerRow]
    n_split_pairs: int
    split_pairs: list[SplitPair]
    ranking: list[PolicyRow]
    n_resamples: int
    seed: int
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["coefficients"] = [c.as_dict() for c in self.coefficients]
        return data


def _none_if_nan(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _coefficients(
    choice_counts: np.ndarray,
    confidence_counts: np.ndarray | None,
    confidence_domain: np.ndarray | None,
    *,
    n_resamples: int,
    seed: int,
) -> list[Coefficient]:
    out: list[Coefficient] = []
    pairable = choice_counts.sum(axis=1) >= 2
    patterns, freq, _ = row_patterns(choice_counts[pairable])
    n_units, n_judg = int(pairable.sum()), int(choice_counts[pairable].sum())
    boot = {"n_resamples": n_resamples, "seed": seed}

    def alpha_nominal(p, w):
        return agreement.alpha_from_value_counts(p, level_of_measurement="nominal", unit_weights=w)

    out.append(
        Coefficient(
            "percent_agreement",
            "choice",
            bootstrap_interval(agreement.percent_agreement_from_value_counts, patterns, freq, **boot),
            n_units,
            n_judg,
            "Share of agreeing labeler pairs per pair, averaged over pairs with two or more judgments.",
        )
    )
    out.append(
        Coefficient(
            "krippendorff_alpha",
            "choice",
            bootstrap_interval(alpha_nominal, patterns, freq, **boot),
            n_units,
            n_judg,
            "Nominal alpha over a/b/tie; handles any number of judgments per pair.",
        )
    )
    raters = choice_counts.sum(axis=1)
    if pairable.any():
        modal = int(np.bincount(raters[pairable]).argmax())
        same = raters == modal
        f_patterns, f_freq, _ = row_patterns(choice_counts[same])

        def fleiss(p, w):
            return agreement.fleiss_kappa(p, unit_weights=w)

        out.append(
            Coefficient(
                "fleiss_kappa",
                "choice",
                bootstrap_interval(fleiss, f_patterns, f_freq, **boot),
                int(same.sum()),
                int(choice_counts[same].sum()),
                f"Over the pairs with exactly {modal} judgments (Fleiss' kappa needs equal counts).",
            )
        )
    if confidence_counts is not None:
        c_pairable = confidence_counts.sum(axis=1) >= 2
        c_patterns, c_freq, _ = row_patterns(confidence_counts[c_pairable])

        def alpha_ordinal(p, w):
            return agreement.alpha_from_value_counts(
                p, value_domain=confidence_domain, level_of_measurement="ordinal", unit_weights=w
            )

        out.append(
            Coefficient(
                "krippendorff_alpha",
                "confidence",
                bootstrap_interval(alpha_ordinal, c_patterns, c_freq, **boot),
                int(c_pairable.sum()),
                int(confidence_counts[c_pairable].sum()),
                "Ordinal alpha over the canonical confidence scale (low = sample A better).",
            )
        )
    return out


def _labeler_activity(project: Project) -> dict[int, list[int]]:
    """labeler id -> [closed assignments, skips, flags], counted by the database (also for labelers who never judged)."""
    activity: dict[int, list[int]] = {}
    statuses = (
        Assignment.objects.filter(pair__project=project)
        .exclude(status__in=[AssignmentStatus.OPEN, AssignmentStatus.EXPIRED])
        .values_list("labeler_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for lid, status, n in statuses:
        counts = activity.setdefault(lid, [0, 0, 0])
        counts[0] += n
        counts[1] += n if status == AssignmentStatus.SKIPPED else 0
    flags = PairFlag.objects.filter(pair__project=project).values_list("labeler_id").annotate(n=Count("id")).order_by()
    for lid, n in flags:
        activity.setdefault(lid, [0, 0, 0])[2] = n
    return activity


def _labeler_table(
    project: Project,
    data: ComparisonArrays,
    excluded: set[int],
    *,
    agreement_rows: consensus.LabelerAgreement,
    labeler_ids: np.ndarray,
    labeler_idx: np.ndarray,
    activity: dict[int, list[int]],
) -> list[LabelerRow]:
    n_lab = len(labeler_ids)
    gold = data.is_gold & (data.gold_choice >= 0)
    n_gold = np.bincount(labeler_idx[gold], minlength=n_lab)
    gold_right = np.bincount(labeler_idx[gold & (data.choice == data.gold_choice)], minlength=n_lab)
    both_bad = np.bincount(labeler_idx[data.choice == BOTH_BAD_CODE], minlength=n_lab)
    all_judgments = np.bincount(labeler_idx, minlength=n_lab)
    medians = group_median(labeler_idx, data.time_spent_ms, n_lab)
    per_labeler = [activity.get(lid, [0, 0, 0]) for lid in labeler_ids.tolist()]
    closed, skipped, flagged = np.array(per_labeler, dtype=np.int64).reshape(-1, 3).T
    names = dict(get_user_model().objects.filter(id__in=labeler_ids.tolist()).values_list("id", "username"))
    rows = []
    for i, lid in enumerate(labeler_ids.tolist()):
        agree = _none_if_nan(agreement_rows.agreement[i])
        rows.append(
            LabelerRow(
                labeler_id=lid,
                username=names.get(lid, str(lid)),
                n_judgments=int(all_judgments[i]),
                n_scored=int(agreement_rows.n_scored[i]),
                agreement=agree,
                agreement_low=_none_if_nan(agreement_rows.agreement_low[i]),
                agreement_high=_none_if_nan(agreement_rows.agreement_high[i]),
                kappa=_none_if_nan(agreement_rows.kappa[i]),
                n_gold=int(n_gold[i]),
                gold_accuracy=float(gold_right[i] / n_gold[i]) if n_gold[i] else None,
                median_time_ms=_none_if_nan(medians[i]),
                n_closed_assignments=int(closed[i]),
                skip_rate=float(skipped[i] / closed[i]) if closed[i] else None,
                flag_rate=float(flagged[i] / closed[i]) if closed[i] else None,
                both_bad_rate=float(both_bad[i] / all_judgments[i]) if all_judgments[i] else None,
                excluded=lid in excluded,
                needs_review=agree is not None and agree < project.review_threshold,
            )
        )
    # Ranked by the Wilson lower bound, so a labeler with 3 judgments does not outrank one with 300.
    rows.sort(key=lambda r: (r.agreement_low is None, -(r.agreement_low or 0.0), r.username))
    return rows


def _policy_ranking(
    project: Project, data: ComparisonArrays, keep: np.ndarray, *, n_resamples: int, seed: int
) -> list[PolicyRow]:
    usable = keep & (data.choice != BOTH_BAD_CODE) & (data.policy_a != data.policy_b)
    if not usable.any():
        return []
    policy_ids, codes = dense_codes(np.concatenate([data.policy_a[usable], data.policy_b[usable]]))
    a, b = codes[: usable.sum()], codes[usable.sum() :]
    score = np.array([1.0, 0.0, 0.5])[data.choice[usable]]
    fit = ranking.policy_ranking(a, b, score, n_policies=len(policy_ids), n_resamples=n_resamples, seed=seed)
    names = dict(Policy.objects.filter(project=project, id__in=policy_ids.tolist()).values_list("id", "name"))
    rows = [
        PolicyRow(
            int(pid),
            names.get(int(pid), str(pid)),
            float(fit.rating[i]),
            _none_if_nan(fit.rating_low[i]),
            _none_if_nan(fit.rating_high[i]),
            int(fit.n_comparisons[i]),
            _none_if_nan(fit.win_rate[i]),
        )
        for i, pid in enumerate(policy_ids)
    ]
    return sorted(rows, key=lambda r: -r.rating)


def agreement_report_build(
    *,
    project: Project,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    split_limit: int = 50,
    data: ComparisonArrays | None = None,
) -> AgreementReport:
    """Compute the whole report from one columnar read of the project's current comparisons."""
    if not 0 <= n_resamples <= 10_000:
        raise DomainError("n_resamples must be between 0 and 10,000.")
    if split_limit < 0:
        raise DomainError("split_limit must be non-negative.")
    data = comparison_arrays(project=project) if data is None else data
    excluded = excluded_labeler_ids(project)
    activity = _labeler_activity(project)
    # Labelers who only skipped or flagged get a row too.
    active_ids = np.fromiter(activity, dtype=np.int64, count=len(activity))
    labeler_ids = np.union1d(dense_codes(data.labeler_id)[0], active_ids)
    labeler_idx = np.searchsorted(labeler_ids, data.labeler_id)
    counted = ~np.isin(labeler_ids, list(excluded))[labeler_idx]
    preference = ~data.is_gold & (data.choice != BOTH_BAD_CODE)
    pair_ids, pair_idx = dense_codes(data.pair_id[preference])
    n_pairs, n_values = len(pair_ids), len(PREFERENCE_CHOICES)
    in_agreement = counted[preference]
    choice = data.choice[preference]
    choice_counts = agreement.value_counts_from_codes(
        pair_idx[in_agreement], choice[in_agreement], n_units=n_pairs, n_values=n_values
    )  # (pairs, 3)
    conf_domain = np.arange(project.confidence_min, project.confidence_max + 1)
    conf = data.confidence[preference]
    with_conf = in_agreement & (conf >= project.confidence_min) & (conf <= project.confidence_max)
    conf_counts = None
    if with_conf.any():
        conf_counts = agreement.value_counts_from_codes(
            pair_idx[with_conf], conf[with_conf] - project.confidence_min, n_units=n_pairs, n_values=len(conf_domain)
        )
    notes = []
    coefficients = []
    if (choice_counts.sum(axis=1) >= 2).any():
        coefficients = _coefficients(choice_counts, conf_counts, conf_domain, n_resamples=n_resamples, seed=seed)
    else:
        notes.append("No pair has two or more judgments yet, so no agreement coefficient can be computed.")
    if conf_counts is None:
        notes.append("No confidence values were given, so there is no ordinal coefficient.")
    per_labeler = consensus.labeler_agreement(
        labeler_idx=labeler_idx[preference],
        unit_idx=pair_idx,
        value_idx=choice,
        n_labelers=len(labeler_ids),
        n_units=n_pairs,
        n_values=n_values,
        counted=in_agreement,
    )
    levels = consensus.agreement_levels(choice_counts)
    level_counts = np.bincount(levels, minlength=len(consensus.LEVEL_NAMES))
    split = np.nonzero(levels == consensus.SPLIT)[0]
    # Most judgments first: a split among five labelers says more than one among two.
    split = split[np.argsort(-choice_counts[split].sum(axis=1), kind="stable")]
    split_rows = [
        SplitPair(int(pair_ids[u]), dict(zip(PREFERENCE_CHOICES, map(int, choice_counts[u]))), "split")
        for u in split[:split_limit]
    ]
    return AgreementReport(
        project=project.slug,
        review_threshold=project.review_threshold,
        n_judgments=len(data),
        n_pairs=len(dense_codes(data.pair_id)[0]),
        n_labelers=len(labeler_ids),
        n_both_bad=int((data.choice == BOTH_BAD_CODE).sum()),
        excluded_labeler_ids=sorted(excluded),
        coefficients=coefficients,
        consensus_levels=dict(zip(consensus.LEVEL_NAMES, map(int, level_counts))),
        labelers=_labeler_table(
            project,
            data,
            excluded,
            agreement_rows=per_labeler,
            labeler_ids=labeler_ids,
            labeler_idx=labeler_idx,
            activity=activity,
        ),
        n_split_pairs=len(split),
        split_pairs=split_rows,
        ranking=_policy_ranking(project, data, ~data.is_gold & counted, n_resamples=n_resamples, seed=seed),
        n_resamples=n_resamples,
        seed=seed,
        notes=notes,
    )
