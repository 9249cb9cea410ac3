"""The floor: one histogram pass over the current day's columns, against stored bins.

Defined as the least a daily drift report can do once something was stored per reference:
the reference's PSI bin edges (10 bins at its quantiles) and bin counts per numeric column,
and its category counts per categorical column, are computed before timing (`prepare`, into
`floor_reference.json`). Timed: reading the current day's Parquet file into Arrow, then per
numeric column one `np.searchsorted` of its values into the stored edges and one
`np.bincount` (nulls, NaN after the conversion, are taken off the last bin by Arrow's null
count instead of a second pass), per categorical column Arrow's `value_counts`; from the counts
PSI, the chi-square test of the 2 x K table and the Jensen-Shannon distance. No sort, no
per-value comparison with the reference: KS, Wasserstein and Cohen's d are not computed. Its
PSI, chi-square and Jensen-Shannon must equal the scipy loop's.
"""

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.special import chdtrc, rel_entr

from benchmarks.drift import data, output

STORED = "floor_reference.json"
PSI_BINS = 10
PSI_EPSILON = 1e-4


def prepare(folder: Path) -> None:
    """The stored bins and counts the floor reads (untimed)."""
    reference = pq.read_table(folder / data.REFERENCE_FILE)
    stored = {"numeric": {}, "categorical": {}}
    for name in data.numeric_columns():
        values = reference[name].to_numpy(zero_copy_only=False)
        values = values[~np.isnan(values)]
        edges = np.unique(np.quantile(values, np.arange(1, PSI_BINS) / PSI_BINS))
        counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)
        stored["numeric"][name] = {"edges": edges.tolist(), "counts": counts.tolist()}
    for name in data.categorical_columns():
        counted = pc.value_counts(reference[name]).flatten()
        stored["categorical"][name] = dict(
            zip(counted[0].to_pylist(), counted[1].to_pylist(), strict=True)
        )
    (folder / STORED).write_text(json.dumps(stored))


def numeric_counts(column: pa.ChunkedArray, edges: np.ndarray) -> np.ndarray:
    values = column.to_numpy()  # nulls -> NaN, which searchsorted puts past the last edge
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)
    counts[-1] -= column.null_count
    return counts


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    p = np.maximum(reference / reference.sum(), PSI_EPSILON)
    q = np.maximum(current / current.sum(), PSI_EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def categorical_metrics(reference: dict[str, int], column: pa.ChunkedArray) -> dict:
    counted = pc.value_counts(column).flatten()
    current = dict(zip(counted[0].to_pylist(), counted[1].to_pylist(), strict=True))
    levels = sorted(reference.keys() | current.keys())
    table = np.array(
        [
            [reference.get(level, 0) for level in levels],
            [current.get(level, 0) for level in levels],
        ],
        dtype=float,
    )
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    p, q = table[0] / table[0].sum(), table[1] / table[1].sum()
    mixture = (p + q) / 2
    divergence = (rel_entr(p, mixture).sum() + rel_entr(q, mixture).sum()) / 2
    return {
        "chi2_statistic": chi2,
        "chi2_p_value": float(chdtrc(len(levels) - 1, chi2)),
        "chi2_dof": len(levels) - 1,
        "jensen_shannon": float(np.sqrt(divergence / np.log(2))),
    }


def run(folder: Path, day, out: Path) -> dict:
    stages = {}
    started = time.perf_counter()
    stored = json.loads((folder / STORED).read_text())
    current = pq.read_table(folder / data.CURRENT_FILE)
    stages["read stored bins + current (Parquet -> Arrow)"] = time.perf_counter() - started
    started = time.perf_counter()
    rows = []
    for name in data.numeric_columns():
        reference = np.array(stored["numeric"][name]["counts"])
        counts = numeric_counts(current[name], np.array(stored["numeric"][name]["edges"]))
        rows.append({"column": name, "kind": "numeric", "psi": psi(reference, counts)})
    for name in data.categorical_columns():
        metrics = categorical_metrics(stored["categorical"][name], current[name])
        rows.append({"column": name, "kind": "categorical", **metrics})
    stages["histogram pass + metrics"] = time.perf_counter() - started
    output.keep(pd.DataFrame(rows), out)
    return {"current_rows": current.num_rows, "stages": stages}
