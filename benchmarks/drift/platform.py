"""The platform contenders: the drift asset's own functions, minus Dagster, MLflow and HTML.

`monitoring/drift_report` (platform_assets/monitoring/assets.py) computes the reference's
statistics once per training set (`compute_reference`), stores them as one Delta partition of
`monitoring/drift_reference` (`ReferenceStatistics.to_arrow`), and every day reads them back
(`LakeResource.read` with the reference key, `ReferenceStatistics.from_arrow`) and calls
`drift_metrics` on the day's rows. The two contenders time those two halves:

- `run_reference_build`: reading the reference rows, `compute_reference`, `to_arrow` and the
  Delta write (what the first report after a new champion adds);
- `run_daily`: reading the stored statistics from Delta, reading the day's rows, and
  `drift_metrics` (every later day).

The daily contender reads the statistics `store_reference` wrote into the data folder before
timing, with the same functions.
"""

import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import write_deltalake

from benchmarks.drift import data, output
from platform_assets.monitoring.assets import DRIFT_REFERENCE_TABLE
from platform_assets.monitoring.drift import (
    DriftThresholds,
    ReferenceStatistics,
    compute_reference,
    drift_metrics,
)
from platform_assets.resources import LakeResource

REFERENCE_KEY = "benchmark-reference:bins=10"
"""A key shaped like the asset's (which names the training set and the PSI bin count)."""


def build_and_store(folder: Path, lake_root: Path) -> ReferenceStatistics:
    """Statistics of `reference.parquet`, written as the asset writes them on first use."""
    reference = pq.read_table(folder / data.REFERENCE_FILE).to_pandas()
    statistics = compute_reference(
        reference,
        data.numeric_columns(),
        data.categorical_columns(),
        REFERENCE_KEY,
        DriftThresholds(),
    )
    lake = LakeResource(root=str(lake_root))
    write_deltalake(
        lake.table_uri(DRIFT_REFERENCE_TABLE),
        statistics.to_arrow(),
        partition_by=["reference_key"],
        mode="overwrite",
    )
    return statistics


def store_reference(folder: Path) -> None:
    """The stored statistics the daily contender reads (untimed; rebuilt every suite run, so
    they always come from the code being measured)."""
    build_and_store(folder, folder / "lake")


def run_reference_build(folder: Path, day, out: Path) -> dict:
    started = time.perf_counter()
    statistics = build_and_store(folder, out / "lake")
    return {
        "reference_rows": statistics.rows,
        "stages": {"read, compute_reference, to_arrow, Delta write": time.perf_counter() - started},
    }


def run_daily(folder: Path, day, out: Path) -> dict:
    stages = {}
    started = time.perf_counter()
    stored = LakeResource(root=str(folder / "lake")).read(
        DRIFT_REFERENCE_TABLE, filters=pc.field("reference_key") == REFERENCE_KEY
    )
    reference = ReferenceStatistics.from_arrow(stored)
    stages["read stored reference (Delta -> ReferenceStatistics)"] = time.perf_counter() - started
    started = time.perf_counter()
    current = pq.read_table(folder / data.CURRENT_FILE).to_pandas()
    stages["read current (Parquet -> pandas)"] = time.perf_counter() - started
    started = time.perf_counter()
    metrics = drift_metrics(reference, current, DriftThresholds())
    stages["drift_metrics"] = time.perf_counter() - started
    output.keep(metrics, out)
    return {
        "current_rows": len(current),
        "severities": metrics.set_index("column")["severity"].to_dict(),
        "stages": stages,
    }
