"""Where a contender leaves its per-column metrics for the agreement check.

Only while the suite verifies (it sets WRITE_VARIABLE): the contender then writes its metrics,
one row per column with the platform's metric names (`METRICS`), to `<out>/metrics.parquet`.
Timed repeats write nothing.
"""

import os
from pathlib import Path

import pandas as pd

WRITE_VARIABLE = "DRIFT_BENCHMARK_WRITE_OUTPUT"
FILE = "metrics.parquet"
NUMERIC_METRICS = (
    "ks_statistic",
    "ks_p_value",
    "wasserstein",
    "wasserstein_normalised",
    "psi",
    "cohens_d",
)
CATEGORICAL_METRICS = ("chi2_statistic", "chi2_p_value", "chi2_dof", "jensen_shannon")
COUNTS = ("reference_rows", "current_rows")


def keep(metrics: pd.DataFrame, out: Path) -> None:
    if os.environ.get(WRITE_VARIABLE):
        metrics.to_parquet(out / FILE, index=False)


def read(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / FILE).set_index("column")
