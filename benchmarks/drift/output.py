"""Where a contender leaves its per-column metrics for the agreement check.

Only while the suite verifies (it sets WRITE_VARIABLE): the contender then writes its metrics,
one row per column with the platform's metric names (`NUMERIC_METRICS`,
`CATEGORICAL_METRICS` of platform_assets/monitoring/drift.py), to `<out>/metrics.parquet`.
Timed repeats write nothing.
"""

import os
from pathlib import Path

import pandas as pd

WRITE_VARIABLE = "DRIFT_BENCHMARK_WRITE_OUTPUT"
FILE = "metrics.parquet"


def keep(metrics: pd.DataFrame, out: Path) -> None:
    if os.environ.get(WRITE_VARIABLE):
        metrics.to_parquet(out / FILE, index=False)


def read(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / FILE).set_index("column")
