"""Reference and current rows for the drift benchmark, with the generator's ground truth.

Generated (numpy, seeded), once per (reference rows, seed), under the work directory; a stamp
holding the settings marks a finished generation. Never timed. Two Parquet files with the
same 50 columns:

- `reference.parquet`: `rows` rows (1M by default), what a model was trained on;
- `current.parquet`: `rows // CURRENT_SHARE` rows (200k), one day to compare with it.

40 numeric columns, five of each shape in NUMERIC_SHAPES (normal; lognormal amounts rounded
to cents; Poisson counts, so many ties; uniform; exponential with 10% nulls; a two-mode
mixture; zero-inflated gamma with 70% exact zeros; normal rounded to one decimal with 5%
nulls) and 10 categorical string columns of the cardinalities in CATEGORY_LEVELS (2 to
1,000, Zipf-like shares, no nulls: Evidently drops null categories while the platform
counts them, so nulls there would make the two disagree by definition, not by error).
One numeric column of each shape and three categorical columns drift in the current rows (see
`_numeric` and `_categorical` for how); one drifted categorical column also brings
categories the reference never had. `truth.json` lists the drifted columns.

Only numpy, pandas and pyarrow are imported: the Evidently contenders run in their own
environment and read the same files through this module.
"""

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.workspace import generated_once, generation_settings

REFERENCE_FILE = "reference.parquet"
CURRENT_FILE = "current.parquet"
TRUTH_FILE = "truth.json"
CURRENT_SHARE = 5
"""The current day has a fifth of the reference's rows: 200k against 1M."""
NUMERIC_SHAPES = (
    "normal",
    "lognormal amount",
    "poisson count",
    "uniform",
    "exponential, 10% nulls",
    "two-mode mixture",
    "zero-inflated gamma",
    "rounded normal, 5% nulls",
)
NUMERIC_PER_SHAPE = 5
CATEGORY_LEVELS = (2, 3, 4, 6, 8, 12, 20, 50, 200, 1000)
DRIFTED_CATEGORICAL = (2, 5, 8)
NEW_LEVELS = 20
"""Categories only the current day has, in the drifted column with 200 levels."""
DAY = date(2024, 6, 1)
"""The current day's date (the runner's `--day`; informational)."""


def numeric_columns() -> list[str]:
    return [f"num_{j:02d}" for j in range(len(NUMERIC_SHAPES) * NUMERIC_PER_SHAPE)]


def categorical_columns() -> list[str]:
    return [f"cat_{j:02d}" for j in range(len(CATEGORY_LEVELS))]


def shape_of(j: int) -> str:
    return NUMERIC_SHAPES[j % len(NUMERIC_SHAPES)]


def numeric_drifts(j: int) -> bool:
    """Every fifth numeric column drifts: one of each shape."""
    return j % 5 == 3


def drift_data(work_dir: Path, rows: int, seed: int) -> Path:
    """The data folder (both Parquet files and the truth), generated if needed."""
    folder = work_dir / "data" / f"drift-reference-{rows}-seed-{seed}"
    settings = {"reference_rows": rows, "seed": seed, "version": 3}
    generated_once(folder, settings, lambda: generate(folder, rows, seed))
    return folder


def generate(folder: Path, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for file, size, drifted in (
        (REFERENCE_FILE, rows, False),
        (CURRENT_FILE, rows // CURRENT_SHARE, True),
    ):
        columns = {
            name: pa.array(_numeric(rng, j, size, drifted and numeric_drifts(j)), from_pandas=True)
            for j, name in enumerate(numeric_columns())
        }
        columns |= {
            name: _categorical(rng, j, size, drifted and j in DRIFTED_CATEGORICAL)
            for j, name in enumerate(categorical_columns())
        }
        pq.write_table(pa.table(columns), folder / file)
    truth = {
        "drifted_numeric": [name for j, name in enumerate(numeric_columns()) if numeric_drifts(j)],
        "drifted_categorical": [categorical_columns()[j] for j in DRIFTED_CATEGORICAL],
        "shapes": {name: shape_of(j) for j, name in enumerate(numeric_columns())},
        "levels": dict(zip(categorical_columns(), CATEGORY_LEVELS, strict=True)),
    }
    (folder / TRUTH_FILE).write_text(json.dumps(truth, indent=2))


def _numeric(rng: np.random.Generator, j: int, size: int, drifted: bool) -> np.ndarray:
    """Column j's values. A drifted column moves by 0.3: the normal and rounded normal
    by 0.3 standard deviations, the uniform by 0.3 of its width, the lognormal's log-location
    by 0.3, the exponential's scale and the Poisson rate by 30%, the mixture's first mode
    share from 0.3 to 0.6, the zero share from 0.7 to 0.55."""
    shift = 0.3 if drifted else 0.0
    scale = 1.0 + j / 10  # columns of one shape differ in scale
    shape = shape_of(j)
    if shape == "normal":
        return rng.normal(10 * scale + shift * scale, scale, size)
    if shape == "lognormal amount":
        return np.round(rng.lognormal(3.0 + shift, 1.0, size), 2)
    if shape == "poisson count":
        return rng.poisson(2.0 * scale * (1 + shift), size).astype(float)
    if shape == "uniform":
        return rng.uniform(shift * scale, scale * (1 + shift), size)
    if shape == "exponential, 10% nulls":
        return _with_nulls(rng, rng.exponential(scale * (1 + shift), size), 0.10)
    if shape == "two-mode mixture":
        mode = rng.random(size) < 0.3 + shift
        return np.where(mode, rng.normal(-2 * scale, 1, size), rng.normal(3 * scale, 2, size))
    if shape == "zero-inflated gamma":
        zero = rng.random(size) < 0.7 - shift / 2
        return np.where(zero, 0.0, rng.gamma(2.0, scale, size))
    return _with_nulls(rng, np.round(rng.normal(shift * scale, scale, size), 1), 0.05)


def _with_nulls(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    values[rng.random(values.size) < share] = np.nan
    return values


def _categorical(rng: np.random.Generator, j: int, size: int, drifted: bool) -> pa.Array:
    """Column j's categories `c<j>_<level>`; a drifted column moves a fifth of the mass from
    the common levels to the rare ones (and, for 200 levels, to NEW_LEVELS unseen ones)."""
    levels = CATEGORY_LEVELS[j]
    shares = 1 / np.arange(1, levels + 1) ** 1.1
    shares /= shares.sum()
    if drifted:
        shares = 0.8 * shares + 0.2 * shares[::-1]
        if levels == 200:
            shares = np.concatenate([0.95 * shares, np.full(NEW_LEVELS, 0.05 / NEW_LEVELS)])
    names = pa.array([f"c{j}_{level:04d}" for level in range(shares.size)])
    codes = rng.choice(shares.size, size, p=shares)
    return names.take(pa.array(codes))


def read_frames(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both files as pandas frames, as the contenders that work on raw rows read them."""
    return pd.read_parquet(folder / REFERENCE_FILE), pd.read_parquet(folder / CURRENT_FILE)


def describe(folder: Path) -> list[tuple[str, str]]:
    """What was generated: sizes, shapes, which columns drift."""
    settings = generation_settings(folder)
    truth = json.loads((folder / TRUTH_FILE).read_text())
    sizes = {
        file: (pq.ParquetFile(folder / file).metadata.num_rows, (folder / file).stat().st_size)
        for file in (REFERENCE_FILE, CURRENT_FILE)
    }
    files = "; ".join(
        f"`{file}` {rows:,} rows, {size / 2**20:,.0f} MiB" for file, (rows, size) in sizes.items()
    )
    return [
        (
            "data",
            f"seed {settings['seed']}; {files}; {len(numeric_columns())} numeric columns "
            f"({NUMERIC_PER_SHAPE} each: {'; '.join(NUMERIC_SHAPES)}), "
            f"{len(categorical_columns())} categorical (levels "
            f"{', '.join(map(str, CATEGORY_LEVELS))}; no nulls); drifted: "
            f"{', '.join(truth['drifted_numeric'] + truth['drifted_categorical'])} "
            f"({NEW_LEVELS} new categories in {categorical_columns()[8]})",
        )
    ]
