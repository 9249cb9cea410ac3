"""Data drift metrics: one day's rows against the reference a model was trained on.

Pure numpy/scipy, no Dagster. The reference is summarised once (`compute_reference`) into
`ReferenceStatistics` (each numeric column sorted, its moments, its PSI bins and counts; each
categorical column's category counts), stored by the caller keyed by the reference's content
hash, and compared with each day's rows by `drift_metrics`:

- numeric columns, one at a time against the stored sorted reference: the day's column is
  sorted once and searched into the reference (`ks_wasserstein`: the searches give both
  one-sided KS suprema; `wasserstein`: one pass of segment sums over the reference and a few
  operations per distinct day value give the integral; nothing is re-sorted or merged).
  From them: Kolmogorov-Smirnov statistic (sup |F_ref - F_cur|) and its asymptotic p-value
  (Smirnov's distribution, as `scipy.stats.ks_2samp(method="asymp")`), Wasserstein-1
  distance (integral of |F_ref - F_cur|, as `scipy.stats.wasserstein_distance`) and the same
  divided by the reference's standard deviation, Cohen's d (pooled standard deviation); PSI
  on bins whose edges are the reference's quantiles (the sorted day's bin ends searched for
  the edges).
- categorical columns: chi-square test of the 2 x K contingency table (reference counts vs the
  day's counts, no continuity correction, as `scipy.stats.chi2_contingency(correction=False)`)
  and the Jensen-Shannon distance of the two distributions in base 2 (0..1, as
  `scipy.spatial.distance.jensenshannon(p, q, base=2)`).

Severity (`ok` < `warning` < `critical`) comes from the effect sizes (normalised Wasserstein,
PSI, |Cohen's d| for numeric columns; Jensen-Shannon for categorical ones) against the
thresholds in `DriftThresholds`; the test's p-value is only a gate (a column whose difference is
not significant at `p_value` is `ok` whatever its effect sizes). With hundreds of thousands of
rows any p-value is tiny, so p-values alone flag harmless differences; with a few hundred rows
effect sizes are noisy, and the gate keeps the noise out. Columns with fewer rows than the
minimums are not judged (`ok`, with the reason).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats
from scipy.special import rel_entr

NUMERIC, CATEGORICAL = "numeric", "categorical"
OK, WARNING, CRITICAL = "ok", "warning", "critical"
SEVERITIES = (OK, WARNING, CRITICAL)
MISSING_CATEGORY = "<null>"


@dataclass(frozen=True)
class Band:
    """An effect size is `warning` from `warning` on and `critical` from `critical` on."""

    warning: float
    critical: float

    def __post_init__(self):
        if not 0 <= self.warning <= self.critical:
            raise ValueError(f"need 0 <= warning <= critical, got {self}")

    def level(self, value: float) -> str:
        if np.isnan(value):
            return OK
        if value >= self.critical:
            return CRITICAL
        return WARNING if value >= self.warning else OK


@dataclass(frozen=True)
class DriftThresholds:
    """What counts as drift. Defaults: Wasserstein normalised by the reference's standard
    deviation 0.1 / 0.2 (a shift of the whole distribution by 0.2 standard deviations is
    critical), PSI 0.1 / 0.25 (the usual credit-scoring bands), |Cohen's d| 0.2 / 0.5 (small /
    medium effect), Jensen-Shannon distance 0.1 / 0.2; significance gate p < 0.01."""

    wasserstein: Band = field(default_factory=lambda: Band(0.1, 0.2))
    psi: Band = field(default_factory=lambda: Band(0.1, 0.25))
    cohens_d: Band = field(default_factory=lambda: Band(0.2, 0.5))
    jensen_shannon: Band = field(default_factory=lambda: Band(0.1, 0.2))
    p_value: float = 0.01
    min_reference_rows: int = 200
    min_current_rows: int = 100
    psi_bins: int = 10
    psi_epsilon: float = 1e-4
    """Share given to an empty bin in PSI (its log would be infinite otherwise)."""

    @classmethod
    def from_dict(cls, values: dict) -> DriftThresholds:
        bands = {"wasserstein", "psi", "cohens_d", "jensen_shannon"}
        return cls(**{k: Band(**v) if k in bands else v for k, v in values.items()})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ReferenceStatistics:
    """Everything the daily comparison needs from the reference, computed once."""

    key: str
    """What the reference is, e.g. the training set's content hash."""
    rows: int
    numeric_columns: list[str]
    sorted_values: list[np.ndarray]
    """Per numeric column: its non-null values, sorted ascending."""
    counts: np.ndarray
    """Non-null values per numeric column."""
    means: np.ndarray
    variances: np.ndarray
    """Sample variances (ddof 1), for Cohen's d."""
    stds: np.ndarray
    """Population standard deviations (ddof 0), to normalise the Wasserstein distance."""
    bin_edges: list[np.ndarray]
    """Per numeric column: the distinct inner edges of its PSI bins (reference quantiles)."""
    bin_counts: list[np.ndarray]
    categorical_columns: list[str]
    categories: list[np.ndarray]
    category_counts: list[np.ndarray]

    def to_arrow(self) -> pa.Table:
        """One row per column, storable in Delta (lists hold the arrays). The sorted values
        go in as one list column built from the array itself (millions of values: no Python
        floats)."""
        rows = []
        for j, name in enumerate(self.numeric_columns):
            rows.append(
                {
                    "column": name,
                    "kind": NUMERIC,
                    "count": int(self.counts[j]),
                    "mean": float(self.means[j]),
                    "variance": float(self.variances[j]),
                    "std": float(self.stds[j]),
                    "bin_edges": self.bin_edges[j].tolist(),
                    "bin_counts": self.bin_counts[j].tolist(),
                }
            )
        for j, name in enumerate(self.categorical_columns):
            rows.append(
                {
                    "column": name,
                    "kind": CATEGORICAL,
                    "count": int(self.category_counts[j].sum()),
                    "categories": [str(c) for c in self.categories[j]],
                    "category_counts": self.category_counts[j].tolist(),
                }
            )
        lengths = np.zeros(len(rows), dtype=np.int64)
        lengths[: self.counts.size] = self.counts
        sorted_values = pa.ListArray.from_arrays(
            pa.array(np.concatenate([[0], np.cumsum(lengths)]), pa.int32()),
            pa.array(np.concatenate([*self.sorted_values, np.empty(0)])),
            mask=pa.array(np.arange(len(rows)) >= self.counts.size),
        )
        position = REFERENCE_SCHEMA.get_field_index("sorted_values")
        table = pa.Table.from_pylist(rows, schema=REFERENCE_SCHEMA.remove(position))
        table = table.add_column(position, REFERENCE_SCHEMA.field(position), sorted_values)
        return table.append_column(
            "reference_key", pa.array([self.key] * len(rows), pa.string())
        ).append_column("reference_rows", pa.array([self.rows] * len(rows), pa.int64()))

    @classmethod
    def from_arrow(cls, table: pa.Table) -> ReferenceStatistics:
        """From `to_arrow`'s table (as read back from Delta: any chunking, list or large
        list). Each column's sorted values are a view of the list column's buffer: millions of
        values per column, not copied."""
        records = table.drop_columns(["sorted_values"]).to_pylist()
        if not records:
            raise ValueError("no reference statistics in the table")
        sorted_values = []
        for lists in table["sorted_values"].chunks:
            offsets = lists.offsets.to_numpy()
            flat = lists.values.to_numpy(zero_copy_only=False)
            sorted_values += [flat[start:end] for start, end in itertools.pairwise(offsets)]
        numeric = [i for i, r in enumerate(records) if r["kind"] == NUMERIC]
        categorical = [r for r in records if r["kind"] == CATEGORICAL]
        sorted_values = [sorted_values[i] for i in numeric]
        numeric = [records[i] for i in numeric]
        return cls(
            key=records[0]["reference_key"],
            rows=records[0]["reference_rows"],
            numeric_columns=[r["column"] for r in numeric],
            sorted_values=sorted_values,
            counts=np.array([r["count"] for r in numeric], dtype=np.int64),
            means=np.array([r["mean"] for r in numeric], dtype=float),
            variances=np.array([r["variance"] for r in numeric], dtype=float),
            stds=np.array([r["std"] for r in numeric], dtype=float),
            bin_edges=[np.array(r["bin_edges"], dtype=float) for r in numeric],
            bin_counts=[np.array(r["bin_counts"], dtype=np.int64) for r in numeric],
            categorical_columns=[r["column"] for r in categorical],
            categories=[np.array(r["categories"], dtype=object) for r in categorical],
            category_counts=[np.array(r["category_counts"], dtype=np.int64) for r in categorical],
        )


REFERENCE_SCHEMA = pa.schema(
    [
        ("column", pa.string()),
        ("kind", pa.string()),
        ("count", pa.int64()),
        ("mean", pa.float64()),
        ("variance", pa.float64()),
        ("std", pa.float64()),
        ("sorted_values", pa.list_(pa.float64())),
        ("bin_edges", pa.list_(pa.float64())),
        ("bin_counts", pa.list_(pa.int64())),
        ("categories", pa.list_(pa.string())),
        ("category_counts", pa.list_(pa.int64())),
    ]
)


def numeric_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The columns as one column-major float64 array, nulls as NaN."""
    matrix = np.empty((len(frame), len(columns)), order="F")
    for j, name in enumerate(columns):
        numbers = pd.to_numeric(frame[name], errors="raise").astype("float64")
        matrix[:, j] = numbers.to_numpy(float, na_value=np.nan)
    return matrix


def category_values(series: pd.Series) -> np.ndarray:
    """A categorical column as strings, nulls as MISSING_CATEGORY (a category of its own)."""
    values = series.astype("object").to_numpy()
    # np.where widens the string dtype to fit MISSING_CATEGORY; assigning into
    # values.astype(str) would cut it to the longest value's width ("<nu" beside "a", "b").
    return np.where(pd.isna(values), MISSING_CATEGORY, values.astype(str))


def category_counts(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The column's categories (named as `category_values` names them) in sorted order and
    their counts, as `np.unique(category_values(series), return_counts=True)` gives them:
    counted by hashing the values as they are, then only the distinct ones named (values that
    name alike, such as 1 and "1", are summed)."""
    counts = series.astype("object").value_counts(dropna=False, sort=False)
    names = category_values(counts.index.to_series())
    named = pd.Series(counts.to_numpy(), index=names).groupby(level=0, sort=True).sum()
    return named.index.to_numpy(dtype=str), named.to_numpy(dtype=np.int64)


def psi_edges(sorted_column: np.ndarray, bins: int) -> np.ndarray:
    """Distinct inner edges at the reference's quantiles 1/bins .. (bins-1)/bins."""
    if sorted_column.size == 0:
        return np.empty(0)
    # k / bins exactly: np.linspace's 0.30000000000000004 puts an edge a hair above a value that
    # sits at the 30% position, and the value then falls into the lower bin.
    quantiles = np.quantile(sorted_column, np.arange(1, bins) / bins)
    return np.unique(quantiles)


def compute_reference(
    frame: pd.DataFrame,
    numeric_columns: Sequence[str],
    categorical_columns: Sequence[str],
    key: str,
    thresholds: DriftThresholds | None = None,
) -> ReferenceStatistics:
    thresholds = thresholds or DriftThresholds()
    values = numeric_matrix(frame, numeric_columns)
    counts = (~np.isnan(values)).sum(axis=0)
    # NaN sorts last; `values` is column-major, so each column sorts in place of its own
    ordered = np.sort(values, axis=0)
    valid = [ordered[: counts[j], j] for j in range(values.shape[1])]
    edges = [psi_edges(column, thresholds.psi_bins) for column in valid]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = _nanmean(values, counts)
        variances = _nanvar(values, counts, means, ddof=1)
        stds = np.sqrt(_nanvar(values, counts, means, ddof=0))
    categories, level_counts = [], []
    for name in categorical_columns:
        levels, counted = category_counts(frame[name])
        categories.append(levels.astype(object))
        level_counts.append(counted)
    return ReferenceStatistics(
        key=key,
        rows=len(frame),
        numeric_columns=list(numeric_columns),
        sorted_values=valid,
        counts=counts.astype(np.int64),
        means=means,
        variances=variances,
        stds=stds,
        bin_edges=edges,
        bin_counts=[sorted_bin_counts(column, e) for column, e in zip(valid, edges, strict=True)],
        categorical_columns=list(categorical_columns),
        categories=categories,
        category_counts=level_counts,
    )


def _nanmean(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.where(counts > 0, np.nansum(values, axis=0) / np.maximum(counts, 1), np.nan)


def _nanvar(values: np.ndarray, counts: np.ndarray, means: np.ndarray, ddof: int) -> np.ndarray:
    squares = np.nansum((values - means) ** 2, axis=0)
    return np.where(counts > ddof, squares / np.maximum(counts - ddof, 1), np.nan)


@dataclass
class NumericDrift:
    """Per numeric column, aligned with the reference's `numeric_columns`."""

    reference_rows: np.ndarray
    current_rows: np.ndarray
    ks_statistic: np.ndarray
    ks_p_value: np.ndarray
    wasserstein: np.ndarray
    wasserstein_normalised: np.ndarray
    psi: np.ndarray
    cohens_d: np.ndarray


def ks_wasserstein(reference_sorted: np.ndarray, current_sorted: np.ndarray) -> tuple[float, float]:
    """KS statistic and Wasserstein-1 distance of one column, both samples sorted, no NaN.

    F_ref and F_cur are right-continuous steps, so sup (F_ref - F_cur) is reached just below
    a current value c (F_cur has not risen yet, F_ref counts the reference values < c) and
    sup (F_cur - F_ref) at c (both count the values <= c). Both only change at the day's
    distinct values, so those are searched in the stored reference (a day of counts has a few
    dozen), giving the same counts, and so the same floats, as scipy's searchsorted at every
    value of both samples. The count of reference values <= c needs a second search only
    where c is also a reference value.
    """
    n, m = reference_sorted.size, current_sorted.size
    # per distinct current value c: how many current values are <= c
    through = np.append(np.flatnonzero(np.diff(current_sorted)) + 1, m)
    values = current_sorted[through - 1]
    below = np.searchsorted(reference_sorted, values, side="left")
    at_or_below = below.copy()
    tied = reference_sorted[np.minimum(below, n - 1)] == values
    at_or_below[tied] = np.searchsorted(reference_sorted, values[tied], side="right")
    before = np.concatenate([[0], through[:-1]])  # current values < c
    ks = max(np.max(below / n - before / m), np.max(through / m - at_or_below / n), 0.0)
    return float(ks), wasserstein(reference_sorted, values, through, below, m)


def wasserstein(
    reference_sorted: np.ndarray,
    values: np.ndarray,
    through: np.ndarray,
    below: np.ndarray,
    m: int,
) -> float:
    """Integral of |F_ref - F_cur|, stretch by stretch between the day's distinct values.

    `values` are the m current values' distinct values, ascending; `through` counts the
    current values <= each, `below` the reference values < each. On a stretch [a, b) between
    two consecutive distinct values F_cur is a constant g, and F_ref rises past g at most
    once, at the reference value r_q, q = ceil(g n) - 1; with z = r_q clipped to the stretch:

        n * integral over [a, z) of (g - F_ref) = (g n - k_a)(z - a) - sum[a <= r < z] (z - r)
        n * integral over [z, b) of (F_ref - g) = (k_z - g n)(b - z) + sum[z <= r < b] (b - r)

    with k_x the reference values < x. Before the first value g = 0, after the last g = 1.
    The sums over the reference values of each piece come from one `np.add.reduceat` over
    consecutive segments of the (median-centred) reference: every term is a local quantity, so
    rounding stays at the scale of the values, not of n times them as with prefix sums.
    """
    n = reference_sorted.size
    centre = reference_sorted[n // 2]
    shifted = np.append(reference_sorted - centre, 0.0)  # index n starts an empty last piece
    values = values - centre
    count = through[:-1]  # g = count / m on [a, b)
    q = (count * n + m - 1) // m - 1
    crossing = reference_sorted[q] - centre
    a, b = values[:-1], values[1:]
    k_a, k_b = below[:-1], below[1:]
    z = np.clip(crossing, a, b)
    k_z = np.where(crossing <= a, k_a, np.where(crossing >= b, k_b, q))
    # pieces: [0, k_a(0)), then [k_a, k_z), [k_z, k_b) per stretch, then [k_b(last), n)
    starts = np.empty(2 * values.size, dtype=np.int64)
    starts[0], starts[1::2], starts[2::2] = 0, below, k_z
    sums = np.add.reduceat(shifted, starts)
    sums[:-1][starts[1:] == starts[:-1]] = 0.0  # reduceat gives an empty piece its first value
    level = count * (n / m)
    total = below[0] * values[0] - sums[0] + sums[-1] - (n - below[-1]) * values[-1]
    total += np.sum((level - k_a) * (z - a) - ((k_z - k_a) * z - sums[1:-1:2]))
    total += np.sum((k_z - level) * (b - z) + ((k_b - k_z) * b - sums[2:-1:2]))
    return float(total / n)


def sorted_bin_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin of values sorted ascending without NaN: bin i holds
    edges[i-1] <= x < edges[i], so it ends at the first value >= edges[i]."""
    ends = np.concatenate(
        [np.searchsorted(sorted_values, edges, side="left"), [sorted_values.size]]
    )
    return np.diff(ends, prepend=0)


def ks_p_values(statistic: np.ndarray, n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Two-sided asymptotic p-values, as scipy.stats.ks_2samp(method="asymp")."""
    large = np.maximum(n1, n2).astype(float)
    small = np.minimum(n1, n2).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = np.round(large * small / (large + small))
        p = stats.kstwo.sf(statistic, np.where(effective > 0, effective, 1))
    return np.where(np.isnan(statistic), np.nan, np.clip(p, 0, 1))


def psi(reference_counts: np.ndarray, current_counts: np.ndarray, epsilon: float) -> float:
    """Population stability index sum((q - p) ln(q / p)) over bins; a bin's share is at
    least `epsilon`."""
    if reference_counts.sum() == 0 or current_counts.sum() == 0:
        return float("nan")
    p = np.maximum(reference_counts / reference_counts.sum(), epsilon)
    q = np.maximum(current_counts / current_counts.sum(), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_drift(
    reference: ReferenceStatistics, current: np.ndarray, thresholds: DriftThresholds
) -> NumericDrift:
    """Every numeric column of `current` (rows, columns; NaN = null) against the reference:
    each column is sorted once, then KS, Wasserstein and the PSI bin counts come from
    searches into the stored sorted reference, sums over its segments and the bin edges."""
    columns = len(reference.numeric_columns)
    n = reference.counts
    m = (~np.isnan(current)).sum(axis=0)
    ks, distances, psis = np.full(columns, np.nan), np.full(columns, np.nan), np.empty(columns)
    for j in range(columns):
        current_sorted = np.sort(current[:, j])[: m[j]]  # NaN last
        if n[j] and m[j]:
            ks[j], distances[j] = ks_wasserstein(reference.sorted_values[j], current_sorted)
        counts = sorted_bin_counts(current_sorted, reference.bin_edges[j])
        psis[j] = psi(reference.bin_counts[j], counts, thresholds.psi_epsilon)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = np.where(
            reference.stds > 0,
            distances / reference.stds,
            np.where(distances > 0, np.inf, 0.0),
        )
        means = _nanmean(current, m)
        variances = _nanvar(current, m, means, ddof=1)
        pooled = np.sqrt(((n - 1) * reference.variances + (m - 1) * variances) / (n + m - 2))
        difference = means - reference.means
        cohens_d = np.where(pooled > 0, difference / pooled, np.where(difference != 0, np.inf, 0))
    return NumericDrift(
        reference_rows=n,
        current_rows=m,
        ks_statistic=ks,
        ks_p_value=ks_p_values(ks, n, m),
        wasserstein=distances,
        wasserstein_normalised=normalised,
        psi=psis,
        cohens_d=np.where((n < 2) | (m < 2), np.nan, cohens_d),
    )


@dataclass
class CategoricalDrift:
    reference_rows: int
    current_rows: int
    chi2_statistic: float
    chi2_p_value: float
    chi2_dof: int
    jensen_shannon: float


def categorical_drift(
    categories: np.ndarray, reference_counts: np.ndarray, current: pd.Series
) -> CategoricalDrift:
    """Chi-square of the 2 x K table (categories seen on either side) and JS distance."""
    levels, current_counts = category_counts(current)
    union = np.union1d(categories.astype(str), levels.astype(str))
    observed = np.zeros((2, union.size))
    observed[0, np.searchsorted(union, categories.astype(str))] = reference_counts
    observed[1, np.searchsorted(union, levels.astype(str))] = current_counts
    n, m = int(observed[0].sum()), int(observed[1].sum())
    if n == 0 or m == 0:
        return CategoricalDrift(n, m, np.nan, np.nan, 0, np.nan)
    dof = union.size - 1
    if dof == 0:
        chi2, p_value = 0.0, 1.0
    else:
        expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0) / observed.sum()
        chi2 = float(np.sum((observed - expected) ** 2 / expected))
        p_value = float(stats.chi2.sf(chi2, dof))
    p, q = observed[0] / n, observed[1] / m
    mixture = (p + q) / 2
    divergence = (rel_entr(p, mixture).sum() + rel_entr(q, mixture).sum()) / 2
    js = float(np.sqrt(max(divergence, 0.0) / np.log(2)))
    return CategoricalDrift(n, m, chi2, p_value, dof, js)


ROW_COUNTS = ("reference_rows", "current_rows")
NUMERIC_METRICS = (
    "ks_statistic",
    "ks_p_value",
    "wasserstein",
    "wasserstein_normalised",
    "psi",
    "cohens_d",
)
CATEGORICAL_METRICS = ("chi2_statistic", "chi2_p_value", "chi2_dof", "jensen_shannon")
METRIC_COLUMNS = [
    "column",
    "kind",
    *ROW_COUNTS,
    *NUMERIC_METRICS,
    *CATEGORICAL_METRICS,
    "p_value",
    "severity",
    "reason",
]


def drift_metrics(
    reference: ReferenceStatistics,
    current: pd.DataFrame,
    thresholds: DriftThresholds | None = None,
) -> pd.DataFrame:
    """One row per column of the reference with every metric, its severity and why."""
    thresholds = thresholds or DriftThresholds()
    rows = []
    if reference.numeric_columns:
        values = numeric_matrix(current, reference.numeric_columns)
        numeric = numeric_drift(reference, values, thresholds)
        for j, name in enumerate(reference.numeric_columns):
            row = {
                "column": name,
                "kind": NUMERIC,
                "reference_rows": int(numeric.reference_rows[j]),
                "current_rows": int(numeric.current_rows[j]),
                "ks_statistic": float(numeric.ks_statistic[j]),
                "ks_p_value": float(numeric.ks_p_value[j]),
                "wasserstein": float(numeric.wasserstein[j]),
                "wasserstein_normalised": float(numeric.wasserstein_normalised[j]),
                "psi": float(numeric.psi[j]),
                "cohens_d": float(numeric.cohens_d[j]),
                "p_value": float(numeric.ks_p_value[j]),
            }
            effects = {
                "wasserstein_normalised": (thresholds.wasserstein, row["wasserstein_normalised"]),
                "psi": (thresholds.psi, row["psi"]),
                "|cohens_d|": (thresholds.cohens_d, abs(row["cohens_d"])),
            }
            rows.append({**row, **judge(row, effects, thresholds)})
    for j, name in enumerate(reference.categorical_columns):
        result = categorical_drift(
            reference.categories[j], reference.category_counts[j], current[name]
        )
        row = {
            "column": name,
            "kind": CATEGORICAL,
            "reference_rows": result.reference_rows,
            "current_rows": result.current_rows,
            "chi2_statistic": result.chi2_statistic,
            "chi2_p_value": result.chi2_p_value,
            "chi2_dof": result.chi2_dof,
            "jensen_shannon": result.jensen_shannon,
            "p_value": result.chi2_p_value,
        }
        effects = {"jensen_shannon": (thresholds.jensen_shannon, result.jensen_shannon)}
        rows.append({**row, **judge(row, effects, thresholds)})
    frame = pd.DataFrame(rows).reindex(columns=METRIC_COLUMNS)
    frame["chi2_dof"] = frame["chi2_dof"].astype("Int64")
    return frame


def judge(row: dict, effects: dict[str, tuple[Band, float]], thresholds: DriftThresholds) -> dict:
    """Severity of one column: the worst level among its effect sizes, if the test's p-value
    passes the gate and both sides have enough rows; with the reason in words."""
    if row["reference_rows"] < thresholds.min_reference_rows:
        return {
            "severity": OK,
            "reason": f"not judged: {row['reference_rows']} reference rows "
            f"(< {thresholds.min_reference_rows})",
        }
    if row["current_rows"] < thresholds.min_current_rows:
        return {
            "severity": OK,
            "reason": f"not judged: {row['current_rows']} rows (< {thresholds.min_current_rows})",
        }
    levels = {name: band.level(value) for name, (band, value) in effects.items()}
    worst = max(levels.values(), key=SEVERITIES.index)
    crossed = ", ".join(
        f"{name} {effects[name][1]:.3g} >= {getattr(effects[name][0], level):g}"
        for name, level in levels.items()
        if level != OK
    )
    p_value = row["p_value"]
    if not p_value < thresholds.p_value:
        note = f" (effect sizes: {crossed})" if crossed else ""
        return {"severity": OK, "reason": f"not significant: p={p_value:.3g}{note}"}
    if worst == OK:
        return {"severity": OK, "reason": f"significant (p={p_value:.3g}) but small effect"}
    return {"severity": worst, "reason": f"{crossed}; p={p_value:.3g}"}


def worst_severity(severities) -> str:
    return max(severities, key=SEVERITIES.index, default=OK)
