"""The plain way: one column at a time, scipy's own functions, from the raw rows every day.

What a user would write without the platform: read both Parquet files with pandas, then per
numeric column (nulls dropped) `scipy.stats.ks_2samp(method="asymp")`,
`scipy.stats.wasserstein_distance` (and the same over the reference's standard deviation),
PSI on 10 bins at the reference's quantiles counted with `np.histogram`, and Cohen's d; per
categorical column (nulls as a category of their own, as the platform counts them) the
2 x K table of counts, `scipy.stats.chi2_contingency(correction=False)` and
`scipy.spatial.distance.jensenshannon(base=2)`. Nothing is stored between days: the
reference's quantiles and counts are recomputed each time. This is the oracle the platform's
metrics must equal.
"""

import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from benchmarks.drift import data, output

PSI_BINS = 10
PSI_EPSILON = 1e-4
MISSING_CATEGORY = "<null>"


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    edges = np.unique(np.quantile(reference, np.arange(1, PSI_BINS) / PSI_BINS))
    bins = np.concatenate([[-np.inf], edges, [np.inf]])
    p = np.maximum(np.histogram(reference, bins)[0] / reference.size, PSI_EPSILON)
    q = np.maximum(np.histogram(current, bins)[0] / current.size, PSI_EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def cohens_d(reference: np.ndarray, current: np.ndarray) -> float:
    n, m = reference.size, current.size
    pooled = np.sqrt(
        ((n - 1) * reference.var(ddof=1) + (m - 1) * current.var(ddof=1)) / (n + m - 2)
    )
    return float((current.mean() - reference.mean()) / pooled)


def numeric_row(name: str, reference: pd.Series, current: pd.Series) -> dict:
    ref, cur = reference.dropna().to_numpy(), current.dropna().to_numpy()
    ks = stats.ks_2samp(ref, cur, method="asymp")
    wasserstein = stats.wasserstein_distance(ref, cur)
    return {
        "column": name,
        "kind": "numeric",
        "reference_rows": ref.size,
        "current_rows": cur.size,
        "ks_statistic": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "wasserstein": float(wasserstein),
        "wasserstein_normalised": float(wasserstein / ref.std()),
        "psi": psi(ref, cur),
        "cohens_d": cohens_d(ref, cur),
    }


def categorical_row(name: str, reference: pd.Series, current: pd.Series) -> dict:
    counts = pd.DataFrame(
        {
            "reference": reference.fillna(MISSING_CATEGORY).value_counts(),
            "current": current.fillna(MISSING_CATEGORY).value_counts(),
        }
    ).fillna(0)
    table = counts.to_numpy().T
    chi2 = stats.chi2_contingency(table, correction=False)
    return {
        "column": name,
        "kind": "categorical",
        "reference_rows": int(table[0].sum()),
        "current_rows": int(table[1].sum()),
        "chi2_statistic": float(chi2.statistic),
        "chi2_p_value": float(chi2.pvalue),
        "chi2_dof": int(chi2.dof),
        "jensen_shannon": float(jensenshannon(table[0], table[1], base=2)),
    }


def run(folder: Path, day, out: Path) -> dict:
    stages = {}
    started = time.perf_counter()
    reference, current = data.read_frames(folder)
    stages["read both (Parquet -> pandas)"] = time.perf_counter() - started
    started = time.perf_counter()
    rows = [numeric_row(c, reference[c], current[c]) for c in data.numeric_columns()]
    stages["numeric columns"] = time.perf_counter() - started
    started = time.perf_counter()
    rows += [categorical_row(c, reference[c], current[c]) for c in data.categorical_columns()]
    stages["categorical columns"] = time.perf_counter() - started
    output.keep(pd.DataFrame(rows), out)
    return {"current_rows": len(current), "stages": stages}
