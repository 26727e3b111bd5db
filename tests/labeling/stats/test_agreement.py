"""Agreement coefficients against the independent references (krippendorff, statsmodels, scikit-learn)."""

from __future__ import annotations

import itertools
import warnings

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from labeling.stats.agreement import (
    LEVELS,
    alpha_from_value_counts,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
    reliability_to_value_counts,
    value_counts_from_codes,
)

nan = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers × 12 units example with
# missing values; the paper reports α = .743 (nominal), .815 (ordinal), .849 (interval), .797 (ratio).
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)


def reference_alpha(data: np.ndarray, level: str) -> float | str:
    """krippendorff.alpha, or 'error' where it refuses the input."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except ValueError:
        return "error"


def ours_alpha(data: np.ndarray, level: str) -> float | str:
    try:
        return krippendorff_alpha(data, level_of_measurement=level)
    except ValueError:
        return "error"


def random_reliability(rng: np.random.Generator) -> np.ndarray:
    m, n, v = int(rng.integers(2, 7)), int(rng.integers(1, 60)), int(rng.integers(1, 6))
    domain = np.sort(rng.choice(np.arange(-5, 15), size=v, replace=False)).astype(float)
    if rng.random() < 0.3:
        domain = domain * 0.37 + 0.5  # non-integer values take the sorting path
    data = domain[rng.integers(0, v, size=(m, n))]
    data[rng.random((m, n)) < rng.uniform(0, 0.7)] = nan
    return data


def assert_same(ours, ref) -> None:
    if isinstance(ref, str) or isinstance(ours, str):
        assert ours == ref
    elif np.isnan(ref):
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_alpha_reproduces_krippendorffs_published_example(level, published):
    assert round(krippendorff_alpha(KRIPPENDORFF_2011, level_of_measurement=level), 3) == published
    assert krippendorff_alpha(KRIPPENDORFF_2011, level_of_measurement=level) == pytest.approx(
        krippendorff.alpha(KRIPPENDORFF_2011, level_of_measurement=level), abs=1e-12
    )


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_matches_reference_on_random_data_with_missing_values(level):
    rng = np.random.default_rng(sum(map(ord, level)))
    compared = 0
    for _ in range(300):
        data = random_reliability(rng)
        ref = reference_alpha(data, level)
        assert_same(ours_alpha(data, level), ref)
        compared += not isinstance(ref, str)
    assert compared > 150  # most inputs are well defined, so the comparison is not vacuous


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_degenerate_cases_match_reference(level):
    cases = {
        "all agree": np.array([[1.0, 2, 3, 1], [1, 2, 3, 1], [1, 2, 3, nan]]),
        "one labeler per unit": np.array([[1.0, nan, 3], [nan, 2, nan]]),
        "single category": np.array([[2.0, 2, nan], [2, 2, 2]]),
        "second value only unpaired": np.array([[1.0, 1, 3], [1, 1, nan]]),
        "all disagree": np.array([[1.0, 2, 3], [3, 1, 2]]),
    }
    for name, data in cases.items():
        assert_same(ours_alpha(data, level), reference_alpha(data, level)), name
    assert krippendorff_alpha(cases["all agree"], level_of_measurement=level) == pytest.approx(1.0)


def test_alpha_with_explicit_value_domain_uses_its_order():
    data = np.array([[1.0, 2, 3, 3, nan], [1, 3, 3, 2, 1], [2, 2, 3, 1, 1]])
    for domain in ([1, 2, 3, 4], [3, 1, 2]):
        for level in ("nominal", "ordinal"):
            ours = krippendorff_alpha(data, level_of_measurement=level, value_domain=domain)
            ref = krippendorff.alpha(data, value_domain=domain, level_of_measurement=level)
            assert ours == pytest.approx(ref, abs=1e-9)
    with pytest.raises(ValueError, match="outside value_domain"):
        krippendorff_alpha(data, value_domain=[1, 2])


def test_alpha_from_codes_equals_alpha_from_reliability_data():
    rng = np.random.default_rng(7)
    data = random_reliability(rng)
    while reference_alpha(data, "nominal") == "error":
        data = random_reliability(rng)
    labeler, unit = np.nonzero(~np.isnan(data))
    domain, codes = np.unique(data[labeler, unit], return_inverse=True)
    counts = value_counts_from_codes(unit, codes, n_units=data.shape[1], n_values=len(domain))
    assert np.array_equal(counts, reliability_to_value_counts(data)[0])
    assert alpha_from_value_counts(counts, value_domain=domain, level_of_measurement="nominal") == pytest.approx(
        krippendorff.alpha(data, level_of_measurement="nominal"), abs=1e-9
    )


def test_alpha_rejects_bad_input_clearly():
    with pytest.raises(ValueError, match="2-D"):
        krippendorff_alpha(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="level_of_measurement"):
        krippendorff_alpha(KRIPPENDORFF_2011, level_of_measurement="cardinal")
    with pytest.raises(ValueError, match="Unit indices"):
        value_counts_from_codes(np.array([5]), np.array([0]), n_units=2, n_values=2)


def naive_percent_agreement(data: np.ndarray) -> float:
    shares = []
    for unit in data.T:
        values = unit[~np.isnan(unit)]
        pairs = list(itertools.permutations(range(len(values)), 2))
        if pairs:
            shares.append(np.mean([values[i] == values[j] for i, j in pairs]))
    return float(np.mean(shares))


def test_percent_agreement_matches_a_direct_count_over_labeler_pairs():
    rng = np.random.default_rng(3)
    for _ in range(100):
        data = random_reliability(rng)
        if not (np.sum(~np.isnan(data), axis=0) >= 2).any():
            with pytest.raises(ValueError):
                percent_agreement(data)
            continue
        assert percent_agreement(data) == pytest.approx(naive_percent_agreement(data), abs=1e-12)


def test_fleiss_kappa_matches_statsmodels():
    rng = np.random.default_rng(11)
    for _ in range(200):
        n, k, raters = int(rng.integers(1, 40)), int(rng.integers(1, 6)), int(rng.integers(2, 8))
        probs = rng.dirichlet(np.ones(k) * rng.uniform(0.2, 3))
        table = rng.multinomial(raters, probs, size=n)
        for method in ("fleiss", "randolph"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ref = float(sm_fleiss_kappa(table, method=method))
            assert_same(fleiss_kappa(table, method=method), ref)


def test_fleiss_kappa_degenerate_and_invalid_input():
    assert np.isnan(fleiss_kappa(np.array([[3, 0], [3, 0]])))  # a single category: undefined, as in statsmodels
    assert fleiss_kappa(np.array([[3, 0], [0, 3]])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa(np.array([[2, 1], [1, 1]]))
    with pytest.raises(ValueError, match="method"):
        fleiss_kappa(np.array([[2, 1]]), method="cohen")


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_sklearn_on_units_both_labeled(weights):
    rng = np.random.default_rng(5)
    for _ in range(200):
        n, k = int(rng.integers(1, 50)), int(rng.integers(1, 5))
        a = rng.integers(0, k, n).astype(float)
        b = np.where(rng.random(n) < 0.6, a, rng.integers(0, k, n)).astype(float)
        a[rng.random(n) < 0.2] = nan
        b[rng.random(n) < 0.2] = nan
        keep = ~np.isnan(a) & ~np.isnan(b)
        if not keep.any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = float(cohen_kappa_score(a[keep], b[keep], weights=weights))
        assert_same(cohen_kappa(a, b, weights=weights), ref)


def test_cohen_kappa_with_string_labels_and_explicit_label_order():
    a = np.array(["a", "b", "tie", "a", None, "b"], dtype=object)
    b = np.array(["a", "tie", "tie", "b", "a", "b"], dtype=object)
    keep = [0, 1, 2, 3, 5]
    labels = ["a", "tie", "b"]
    ref = cohen_kappa_score(list(a[keep]), list(b[keep]), labels=labels, weights="linear")
    assert cohen_kappa(a, b, labels=labels, weights="linear") == pytest.approx(ref, abs=1e-12)
    assert np.isnan(cohen_kappa(np.array([1.0, 1.0]), np.array([1.0, 1.0])))  # one label: undefined
