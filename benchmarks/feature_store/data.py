"""The online benchmark's input: one day of the 10-feature user view for N users, as one
Parquet file, generated once per (users, seed) under the work directory (never timed)."""

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.feature_store.repo import feature_rows, write_source

DAY = date(2024, 1, 8)
SOURCE_FILE = "features.parquet"


def feature_source(work_dir: Path, users: int, seed: int) -> Path:
    """The folder holding `features.parquet` (the runner passes it to every push contender)."""
    folder = work_dir / "data" / f"online-users-{users}-seed-{seed}"
    if not (folder / SOURCE_FILE).exists():
        partial = folder / (SOURCE_FILE + ".partial")
        write_source(partial, [feature_rows(users, DAY, seed)])
        partial.rename(folder / SOURCE_FILE)
    return folder


def describe(folder: Path) -> list[tuple[str, str]]:
    path = folder / SOURCE_FILE
    metadata = pq.read_metadata(path)
    return [
        (
            f"data, {metadata.num_rows:,} users",
            f"one row per user on {DAY} at a random microsecond, 5 int64 counts and 5 float64 "
            f"amounts (5% null), one Parquet file of {path.stat().st_size / 2**20:,.0f} MiB",
        )
    ]
