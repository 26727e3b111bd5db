"""Inter-rater agreement coefficients as pure, vectorised array functions, with the conventions of
`krippendorff.alpha`, statsmodels' `fleiss_kappa` and scikit-learn's `cohen_kappa_score` (no Django)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .arrays import dense_codes

# Every coefficient also has a `*_from_value_counts` form over per-unit category counts with optional unit
# weights; the bootstrap and the database layer use that form.

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")


# --------------------------------------------------------------------------------------------- value counts
def value_counts_from_codes(unit_idx: np.ndarray, value_idx: np.ndarray, *, n_units: int, n_values: int) -> np.ndarray:
    """Counts (units × values) of judgments given as parallel index arrays, without a Python loop."""
    unit_idx = np.asarray(unit_idx, dtype=np.int64)  # (J,)
    value_idx = np.asarray(value_idx, dtype=np.int64)  # (J,)
    if unit_idx.shape != value_idx.shape:
        raise ValueError("unit_idx and value_idx must have the same shape.")
    if unit_idx.size and (value_idx.min() < 0 or value_idx.max() >= n_values):
        raise ValueError(f"Value indices must lie in [0, {n_values}).")
    if unit_idx.size and (unit_idx.min() < 0 or unit_idx.max() >= n_units):
        raise ValueError(f"Unit indices must lie in [0, {n_units}).")
    flat = np.bincount(unit_idx * n_values + value_idx, minlength=n_units * n_values)
    return flat.reshape(n_units, n_values)  # (N, V)


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, index of each value among them), by counting when the values are small integers."""
    if len(values):
        low = values.min()
        span = values.max() - low
        if span < 4 * len(values) + 1024 and np.array_equal(values, np.rint(values)):
            distinct, codes = dense_codes((values - low).astype(np.int64))
            return distinct + low, codes
    return np.unique(values, return_inverse=True)


def reliability_to_value_counts(
    reliability_data: np.ndarray, value_domain: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(value counts (units × values), value domain) of numeric reliability data (labelers × units, NaN = missing)."""
    data = np.asarray(reliability_data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"Reliability data must be 2-D (labelers × units); got shape {data.shape}.")
    present = ~np.isnan(data)  # (M, N)
    _, unit_idx = np.nonzero(present)
    values = data[present]
    observed, value_idx = _codes(values)
    if value_domain is None:
        domain = observed
    else:
        domain = np.asarray(value_domain, dtype=np.float64)
        if not np.isin(observed, domain).all():
            raise ValueError("The reliability data contains values outside value_domain.")
        # Positions in the domain as given: its order is the ordinal order, as in the krippendorff package.
        order = np.argsort(domain, kind="stable")
        value_idx = order[np.searchsorted(domain[order], values)]
    counts = value_counts_from_codes(unit_idx, value_idx, n_units=data.shape[1], n_values=len(domain))
    return counts, domain


# --------------------------------------------------------------------------------------------- Krippendorff
def _unit_pair_weights(value_counts: np.ndarray, unit_weights: np.ndarray | None) -> np.ndarray:
    """1 / (m_u - 1) for pairable units (m_u ≥ 2), 0 otherwise, times the unit's bootstrap weight."""
    m = value_counts.sum(axis=1)  # (N,)
    w = np.zeros(m.shape, dtype=np.float64)
    pairable = m >= 2
    w[pairable] = 1.0 / (m[pairable] - 1)
    return w if unit_weights is None else w * unit_weights


def coincidence_matrix(value_counts: np.ndarray, unit_weights: np.ndarray | None = None) -> np.ndarray:
    """Krippendorff's coincidence matrix o_ck = Σ_u (n_uc n_uk − [c=k] n_uc) / (m_u − 1) as one matrix product."""
    counts = np.asarray(value_counts, dtype=np.float64)  # (N, V)
    w = _unit_pair_weights(counts, unit_weights)  # (N,)
    weighted = counts * w[:, None]  # (N, V)
    coincidences: np.ndarray = weighted.T @ counts - np.diag(weighted.sum(axis=0))  # (V, V)
    return coincidences


def distance_matrix(value_domain: np.ndarray, n_v: np.ndarray, level: str) -> np.ndarray:
    """Squared distances δ²(c, k) between domain values, as in Krippendorff (2011) and the krippendorff package."""
    if level == "nominal":
        return 1.0 - np.eye(len(n_v))
    if level == "ordinal":
        # Σ_{g=c..k} n_g − (n_c + n_k)/2 over the ordered domain, from one cumulative sum.
        cum = np.concatenate([[0.0], np.cumsum(n_v)])  # (V+1,)
        lo = np.minimum.outer(np.arange(len(n_v)), np.arange(len(n_v)))
        hi = np.maximum.outer(np.arange(len(n_v)), np.arange(len(n_v)))
        between = cum[hi + 1] - cum[lo]
        ordinal: np.ndarray = (between - (n_v[lo] + n_v[hi]) / 2.0) ** 2
        return ordinal
    values = np.asarray(value_domain, dtype=np.float64)
    diff = np.subtract.outer(values, values)
    if level == "interval":
        return diff**2
    if level == "ratio":
        total = np.add.outer(values, values)
        return np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
    raise ValueError(f"Unknown level_of_measurement {level!r}; choose one of {', '.join(LEVELS)}.")


def alpha_from_value_counts(
    value_counts: np.ndarray,
    *,
    value_domain: np.ndarray | None = None,
    level_of_measurement: str = "interval",
    unit_weights: np.ndarray | None = None,
) -> float:
    """Krippendorff's alpha from counts (units × values); NaN when no disagreement is expected (one value used)."""
    counts = np.asarray(value_counts)
    if counts.ndim != 2:
        raise ValueError(f"value_counts must be 2-D (units × values); got shape {counts.shape}.")
    domain = np.arange(counts.shape[1], dtype=np.float64) if value_domain is None else np.asarray(value_domain)
    if len(domain) != counts.shape[1]:
        raise ValueError("value_domain must have one entry per column of value_counts.")
    if level_of_measurement not in LEVELS:
        raise ValueError(f"Unknown level_of_measurement {level_of_measurement!r}; choose one of {', '.join(LEVELS)}.")
    if len(domain) <= 1:
        raise ValueError("Alpha needs more than one value in the domain.")
    pairable = counts.sum(axis=1) >= 2
    if unit_weights is not None:
        pairable &= np.asarray(unit_weights) > 0
    if not pairable.any():
        raise ValueError("Alpha needs at least one unit with values from at least two labelers.")
    o = coincidence_matrix(counts, unit_weights)  # (V, V)
    n_v = o.sum(axis=0)  # (V,)
    n = n_v.sum()
    e = (np.outer(n_v, n_v) - np.diag(n_v)) / (n - 1)  # (V, V)
    d = distance_matrix(domain, n_v, level_of_measurement)
    expected = (e * d).sum()
    if expected == 0:
        return float("nan")
    return float(1.0 - (o * d).sum() / expected)


def krippendorff_alpha(
    reliability_data: np.ndarray,
    *,
    level_of_measurement: str = "interval",
    value_domain: np.ndarray | None = None,
) -> float:
    """Krippendorff's alpha of reliability data (labelers × units, NaN = missing); `krippendorff.alpha` semantics."""
    counts, domain = reliability_to_value_counts(reliability_data, value_domain)
    return alpha_from_value_counts(counts, value_domain=domain, level_of_measurement=level_of_measurement)


# --------------------------------------------------------------------------------------------- percent, Fleiss
def percent_agreement_from_value_counts(value_counts: np.ndarray, unit_weights: np.ndarray | None = None) -> float:
    """Share of agreeing labeler pairs within a unit, averaged over units with at least two judgments."""
    counts = np.asarray(value_counts, dtype=np.float64)
    m = counts.sum(axis=1)
    pairable = m >= 2
    weights = np.ones(len(counts)) if unit_weights is None else np.asarray(unit_weights, dtype=np.float64)
    weights = np.where(pairable, weights, 0.0)
    if weights.sum() == 0:
        raise ValueError("Percent agreement needs at least one unit with two or more judgments.")
    agree = np.zeros(len(counts))
    agree[pairable] = (counts[pairable] * (counts[pairable] - 1)).sum(axis=1) / (m[pairable] * (m[pairable] - 1))
    return float((agree * weights).sum() / weights.sum())


def percent_agreement(reliability_data: np.ndarray) -> float:
    """Pairwise percent agreement of reliability data (labelers × units, NaN = missing)."""
    counts, _ = reliability_to_value_counts(reliability_data)
    return percent_agreement_from_value_counts(counts)


def fleiss_kappa(counts: np.ndarray, *, method: str = "fleiss", unit_weights: np.ndarray | None = None) -> float:
    """Fleiss' kappa of counts (units × categories) with the same number of raters per unit; statsmodels' semantics.

    `method="randolph"` gives Randolph's free-marginal kappa. NaN when only one category is ever used.
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] == 0:
        raise ValueError(f"counts must be a non-empty 2-D array (units × categories); got shape {table.shape}.")
    raters = table.sum(axis=1)
    n_rat = raters.max()
    if np.any(raters != n_rat):
        raise ValueError("Fleiss' kappa needs the same number of raters for every unit; use Krippendorff's alpha.")
    if n_rat < 2:
        raise ValueError("Fleiss' kappa needs at least two raters per unit.")
    weights = np.ones(len(table)) if unit_weights is None else np.asarray(unit_weights, dtype=np.float64)
    p_cat = (table * weights[:, None]).sum(axis=0) / (weights.sum() * n_rat)
    p_rat = ((table * table).sum(axis=1) - n_rat) / (n_rat * (n_rat - 1.0))
    p_mean = (p_rat * weights).sum() / weights.sum()
    if method == "fleiss":
        p_exp = (p_cat * p_cat).sum()
    elif method.startswith(("rand", "unif")):
        p_exp = 1.0 / table.shape[1]
    else:
        raise ValueError(f"Unknown method {method!r}; choose 'fleiss' or 'randolph'.")
    if p_exp == 1.0:
        return float("nan")
    return float((p_mean - p_exp) / (1.0 - p_exp))


# --------------------------------------------------------------------------------------------- Cohen
def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        nan_mask: np.ndarray = np.isnan(values)
        return nan_mask
    if values.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in values], dtype=bool)
    return np.zeros(values.shape, dtype=bool)


def cohen_kappa_from_confusion(confusion: np.ndarray, *, weights: str | None = None) -> float:
    """Cohen's kappa of a confusion matrix (labels of rater 1 × labels of rater 2, in label order)."""
    c = np.asarray(confusion, dtype=np.float64)
    total = c.sum()
    if total == 0:
        return float("nan")
    expected = np.outer(c.sum(axis=1), c.sum(axis=0)) / total
    idx = np.arange(len(c))
    if weights is None:
        w = 1.0 - np.eye(len(c))
    elif weights == "linear":
        w = np.abs(np.subtract.outer(idx, idx)).astype(np.float64)
    elif weights == "quadratic":
        w = np.subtract.outer(idx, idx).astype(np.float64) ** 2
    else:
        raise ValueError(f"Unknown weights {weights!r}; choose None, 'linear' or 'quadratic'.")
    denominator = (w * expected).sum()
    if denominator == 0:
        return float("nan")
    return float(1.0 - (w * c).sum() / denominator)


def cohen_kappa(a: np.ndarray, b: np.ndarray, *, labels: np.ndarray | None = None, weights: str | None = None) -> float:
    """Cohen's kappa of two labelers over the same units; units missing from either (NaN/None) are left out.

    Same result as `sklearn.metrics.cohen_kappa_score(a, b, labels=labels, weights=weights)` on the units both
    labeled; NaN where sklearn reports the kappa as undefined.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("cohen_kappa needs two 1-D arrays of the same length.")
    keep = ~(_missing(a) | _missing(b))
    a, b = a[keep], b[keep]
    if labels is None:
        label_set, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
        ia, ib = codes[: len(a)], codes[len(a) :]
    else:
        label_set = np.asarray(labels)
        inside = np.isin(a, label_set) & np.isin(b, label_set)
        a, b = a[inside], b[inside]
        lookup = {value: i for i, value in enumerate(label_set.tolist())}
        ia = np.array([lookup[v] for v in a.tolist()], dtype=np.int64)
        ib = np.array([lookup[v] for v in b.tolist()], dtype=np.int64)
    n = len(label_set)
    confusion = np.bincount(ia * n + ib, minlength=n * n).reshape(n, n)
    return cohen_kappa_from_confusion(confusion, weights=weights)
