"""The vectorised drift metrics equal scipy's one-column functions (and a plain PSI) to 1e-9,
on samples with ties, nulls, constant columns and unseen categories; severities follow the
thresholds; reference statistics survive their Arrow form."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from platform_assets.monitoring.drift import (
    CRITICAL,
    OK,
    WARNING,
    Band,
    DriftThresholds,
    ReferenceStatistics,
    compute_reference,
    drift_metrics,
)

TOLERANCE = dict(rel=1e-9, abs=1e-12)


def random_frames(seed: int, n: int, m: int, shift: float = 0.0):
    rng = np.random.default_rng(seed)

    def frame(size, shift):
        with_nulls = rng.normal(shift, 2.0, size)
        with_nulls[rng.random(size) < 0.1] = np.nan
        return pd.DataFrame(
            {
                "normal": rng.normal(10 + shift, 3.0, size),
                "lognormal": rng.lognormal(3 + shift / 4, 1.0, size),
                "counts": rng.poisson(2 + shift, size).astype(float),  # many ties
                "rounded": np.round(rng.normal(shift, 1.0, size), 1),
                "with_nulls": with_nulls,
                "category": rng.choice(
                    ["a", "b", "c", "d"], size, p=[0.4, 0.3, 0.2 + shift / 20, 0.1 - shift / 20]
                ),
                "sparse": rng.choice(["x", "y", "z"], size, p=[0.9, 0.09, 0.01]),
            }
        )

    return frame(n, 0.0), frame(m, shift)


NUMERIC = ["normal", "lognormal", "counts", "rounded", "with_nulls"]
CATEGORICAL = ["category", "sparse"]


def plain_psi(reference: np.ndarray, current: np.ndarray, bins: int, epsilon: float) -> float:
    """PSI written out the plain way: quantile edges of the reference, counts, the sum."""
    reference, current = reference[~np.isnan(reference)], current[~np.isnan(current)]
    edges = np.unique(np.quantile(reference, [k / bins for k in range(1, bins)]))
    total = 0.0
    for low, high in zip([-np.inf, *edges], [*edges, np.inf], strict=True):
        p = max(np.mean((reference >= low) & (reference < high)), epsilon)
        q = max(np.mean((current >= low) & (current < high)), epsilon)
        total += (q - p) * np.log(q / p)
    return total


def cohens_d(reference: np.ndarray, current: np.ndarray) -> float:
    reference, current = reference[~np.isnan(reference)], current[~np.isnan(current)]
    n, m = len(reference), len(current)
    pooled = np.sqrt(
        ((n - 1) * reference.var(ddof=1) + (m - 1) * current.var(ddof=1)) / (n + m - 2)
    )
    return (current.mean() - reference.mean()) / pooled


@pytest.mark.parametrize(("seed", "n", "m", "shift"), [(1, 3000, 700, 0.0), (2, 500, 2500, 0.8)])
def test_numeric_metrics_equal_scipy(seed, n, m, shift):
    reference, current = random_frames(seed, n, m, shift)
    thresholds = DriftThresholds()
    statistics = compute_reference(reference, NUMERIC, CATEGORICAL, "test", thresholds)
    metrics = drift_metrics(statistics, current, thresholds).set_index("column")
    for name in NUMERIC:
        ref = reference[name].to_numpy()
        cur = current[name].to_numpy()
        ref_valid, cur_valid = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
        row = metrics.loc[name]
        ks = stats.ks_2samp(ref_valid, cur_valid, method="asymp")
        assert row["ks_statistic"] == pytest.approx(ks.statistic, **TOLERANCE), name
        assert row["ks_p_value"] == pytest.approx(ks.pvalue, **TOLERANCE), name
        wasserstein = stats.wasserstein_distance(ref_valid, cur_valid)
        assert row["wasserstein"] == pytest.approx(wasserstein, **TOLERANCE), name
        assert row["wasserstein_normalised"] == pytest.approx(
            wasserstein / ref_valid.std(), **TOLERANCE
        )
        assert row["psi"] == pytest.approx(plain_psi(ref, cur, 10, 1e-4), **TOLERANCE), name
        assert row["cohens_d"] == pytest.approx(cohens_d(ref, cur), **TOLERANCE), name
        assert row["reference_rows"] == len(ref_valid)
        assert row["current_rows"] == len(cur_valid)


@pytest.mark.parametrize(("seed", "shift"), [(3, 0.0), (4, 1.5)])
def test_categorical_metrics_equal_scipy(seed, shift):
    reference, current = random_frames(seed, 4000, 900, shift)
    current.loc[current.index[:5], "sparse"] = "never_seen"  # a category new in the day
    current.loc[current.index[5:8], "category"] = None  # nulls count as a category
    statistics = compute_reference(reference, [], CATEGORICAL, "test")
    metrics = drift_metrics(statistics, current).set_index("column")
    for name in CATEGORICAL:
        ref = reference[name].fillna("<null>")
        cur = current[name].fillna("<null>")
        levels = sorted(set(ref) | set(cur))
        table = np.array(
            [
                [(ref == level).sum() for level in levels],
                [(cur == level).sum() for level in levels],
            ]
        )
        chi2 = stats.chi2_contingency(table, correction=False)
        row = metrics.loc[name]
        assert row["chi2_statistic"] == pytest.approx(chi2.statistic, **TOLERANCE)
        assert row["chi2_p_value"] == pytest.approx(chi2.pvalue, **TOLERANCE)
        assert row["chi2_dof"] == chi2.dof
        js = jensenshannon(table[0], table[1], base=2)
        assert row["jensen_shannon"] == pytest.approx(js, **TOLERANCE)
    # the goodness-of-fit form agrees when the reference has every category the day has
    ref, cur = reference["category"], current["category"].fillna("a")
    levels = sorted(set(ref))
    observed = np.array([(cur == level).sum() for level in levels])
    expected_share = np.array([(ref == level).mean() for level in levels])
    fit = stats.chisquare(observed, expected_share * observed.sum())
    assert fit.pvalue < 1e-3 if shift else fit.pvalue > 1e-6


HARD_SAMPLES = {
    # name: (reference, current), both from a seeded generator
    "far from zero": lambda rng: (1e6 + rng.normal(0, 1, 50_000), 1e6 + rng.normal(0, 1, 9_000)),
    "heavy tail": lambda rng: (rng.lognormal(3, 2.5, 50_000), rng.lognormal(3.1, 2.5, 9_000)),
    "day above the reference": lambda rng: (rng.normal(0, 1, 2_000), rng.normal(50, 1, 300)),
    "day inside one reference gap": lambda rng: (np.array([0.0, 10.0] * 500), rng.random(400)),
    "only ties": lambda rng: (rng.integers(0, 4, 20_000) * 1.0, rng.integers(1, 5, 5_000) * 1.0),
    "one day value": lambda rng: (rng.normal(0, 1, 1_000), np.array([0.25])),
    "more day than reference": lambda rng: (rng.normal(0, 1, 300), rng.normal(0.1, 1.2, 7_000)),
}


@pytest.mark.parametrize("name", HARD_SAMPLES)
def test_ks_and_wasserstein_equal_scipy_on_hard_samples(name):
    reference, current = HARD_SAMPLES[name](np.random.default_rng(8))
    statistics = compute_reference(pd.DataFrame({"x": reference}), ["x"], [], name)
    row = drift_metrics(statistics, pd.DataFrame({"x": current}), DriftThresholds()).iloc[0]
    ks = stats.ks_2samp(reference, current, method="asymp")
    assert row["ks_statistic"] == pytest.approx(ks.statistic, **TOLERANCE)
    assert row["ks_p_value"] == pytest.approx(ks.pvalue, **TOLERANCE)
    wasserstein = stats.wasserstein_distance(reference, current)
    assert row["wasserstein"] == pytest.approx(wasserstein, **TOLERANCE)


@pytest.mark.parametrize("seed", range(3))
def test_psi_when_quantiles_fall_exactly_on_reference_values(seed):
    """With 1,001 reference values every decile position (1000 k / 10) is a value itself: it
    is an edge, and it belongs to the bin above it."""
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"x": rng.exponential(1.0, 1001)})
    current = pd.DataFrame({"x": rng.exponential(1.1, 500)})
    metrics = drift_metrics(compute_reference(reference, ["x"], [], "exact"), current)
    expected = plain_psi(reference["x"].to_numpy(), current["x"].to_numpy(), 10, 1e-4)
    assert metrics.loc[0, "psi"] == pytest.approx(expected, **TOLERANCE)


def test_nulls_are_one_category_whatever_the_other_names_length():
    """Short names beside nulls on one side, long ones on the other: still one null level."""
    rng = np.random.default_rng(9)
    reference = pd.Series(rng.choice(["a", "b", None], 3000))
    current = pd.Series(rng.choice(["a", "a much longer name", None], 800))
    statistics = compute_reference(pd.DataFrame({"c": reference}), [], ["c"], "nulls")
    row = drift_metrics(statistics, pd.DataFrame({"c": current})).iloc[0]
    table = pd.DataFrame(
        {
            "ref": reference.fillna("<null>").value_counts(),
            "cur": current.fillna("<null>").value_counts(),
        }
    ).fillna(0)
    chi2 = stats.chi2_contingency(table.to_numpy().T, correction=False)
    assert row["chi2_dof"] == chi2.dof == 3
    assert row["chi2_statistic"] == pytest.approx(chi2.statistic, **TOLERANCE)


def test_large_samples_use_the_same_distribution_as_scipy():
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 60_000)})
    current = pd.DataFrame({"x": rng.normal(0.02, 1, 20_000)})
    metrics = drift_metrics(compute_reference(reference, ["x"], [], "big"), current)
    ks = stats.ks_2samp(reference["x"], current["x"])  # method "auto" is asymptotic here
    assert metrics.loc[0, "ks_statistic"] == pytest.approx(ks.statistic, **TOLERANCE)
    assert metrics.loc[0, "ks_p_value"] == pytest.approx(ks.pvalue, **TOLERANCE)


def test_constant_and_empty_columns_do_not_break():
    reference = pd.DataFrame({"constant": np.zeros(500), "empty": np.full(500, np.nan)})
    same = pd.DataFrame({"constant": np.zeros(300), "empty": np.full(300, np.nan)})
    moved = pd.DataFrame({"constant": np.ones(300), "empty": np.full(300, np.nan)})
    statistics = compute_reference(reference, ["constant", "empty"], [], "edge")
    unchanged = drift_metrics(statistics, same).set_index("column")
    assert unchanged.loc["constant", "ks_statistic"] == 0
    assert unchanged.loc["constant", "wasserstein_normalised"] == 0
    assert unchanged.loc["constant", "severity"] == OK
    assert unchanged.loc["empty", "severity"] == OK
    assert "not judged" in unchanged.loc["empty", "reason"]
    changed = drift_metrics(statistics, moved).set_index("column")
    assert changed.loc["constant", "ks_statistic"] == 1
    assert changed.loc["constant", "severity"] == CRITICAL


def test_severity_comes_from_effect_sizes_gated_by_the_p_value():
    rng = np.random.default_rng(6)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 200_000)})
    statistics = compute_reference(reference, ["x"], [], "gate")
    # a tiny shift on many rows: significant, but a negligible effect -> ok
    tiny = drift_metrics(statistics, pd.DataFrame({"x": rng.normal(0.03, 1, 200_000)}))
    assert tiny.loc[0, "p_value"] < 0.01
    assert tiny.loc[0, "severity"] == OK
    # 0.15 standard deviations: warning (normalised Wasserstein ~ 0.15); 0.3: critical
    assert (
        drift_metrics(statistics, pd.DataFrame({"x": rng.normal(0.15, 1, 50_000)})).loc[
            0, "severity"
        ]
        == WARNING
    )
    assert (
        drift_metrics(statistics, pd.DataFrame({"x": rng.normal(0.3, 1, 50_000)})).loc[
            0, "severity"
        ]
        == CRITICAL
    )
    # a large effect on too few rows to be significant -> ok, saying why
    few = drift_metrics(
        compute_reference(reference.head(300), ["x"], [], "few"),
        pd.DataFrame({"x": rng.normal(0.25, 1, 120)}),
        DriftThresholds(p_value=1e-6),
    )
    assert few.loc[0, "severity"] == OK
    assert few.loc[0, "reason"].startswith("not significant")
    # below the minimum sample size -> not judged
    small = drift_metrics(statistics, pd.DataFrame({"x": rng.normal(3, 1, 50)}))
    assert small.loc[0, "severity"] == OK
    assert "not judged" in small.loc[0, "reason"]


def test_thresholds_from_config():
    thresholds = DriftThresholds.from_dict(
        {"psi": {"warning": 0.2, "critical": 0.3}, "p_value": 0.001, "min_current_rows": 10}
    )
    assert thresholds.psi == Band(0.2, 0.3)
    assert thresholds.p_value == 0.001
    assert DriftThresholds.from_dict(thresholds.to_dict()) == thresholds
    with pytest.raises(ValueError):
        Band(0.3, 0.2)


def test_reference_statistics_round_trip_through_arrow():
    reference, current = random_frames(7, 800, 400, 0.5)
    statistics = compute_reference(reference, NUMERIC, CATEGORICAL, "hash-1")
    table = statistics.to_arrow()
    assert set(table["reference_key"].to_pylist()) == {"hash-1"}
    restored = ReferenceStatistics.from_arrow(table)
    assert restored.key == "hash-1"
    pd.testing.assert_frame_equal(
        drift_metrics(restored, current), drift_metrics(statistics, current)
    )
