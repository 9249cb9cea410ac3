"""(b) The floor: one hand-written DuckDB query, as fast as we could make it.

The query is the platform's own: `platform_assets.features.compute.user_features_sql`,
whose docstring says how it computes docs/features.md's values exactly and cheaply. What
makes this the floor is where its rows come from: DuckDB reads the silver Parquet files of
the 8 days itself, straight from the Delta table's current snapshot (the file list comes
from the Delta log), with its own parallel Parquet reader and only the columns each part
of the query needs; nothing passes through Arrow, pandas or Pandera on the way in. The
platform instead reads through its `LakeResource` (pyarrow datasets over Delta, which
also works on S3, where DuckDB could not read without its httpfs extension) and hands
DuckDB Arrow tables, then validates. The result is written unsorted, like every contender
writes what it produced (`write_deltalake`, replacing the day's partition).
"""

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable

from benchmarks.features.output import SILVER_TABLE, Stopwatch, counts, write_features
from platform_assets.features.compute import (
    USER_HISTORY_DAYS,
    connect,
    user_features_parameters,
    user_features_sql,
)

SQL = user_features_sql(*(f"read_parquet(${name}_files)" for name in ("recent", "older", "oldest")))


def day_files(table: DeltaTable, first: date, last: date) -> list[str]:
    """The current snapshot's Parquet files of the days first..last, from the Delta log."""
    actions = pa.table(table.get_add_actions(flatten=True)).to_pydict()
    root = table.table_uri.removeprefix("file://").rstrip("/")
    return [
        f"{root}/{path}"
        for path, day in zip(actions["path"], actions["partition.event_date"], strict=True)
        if first <= _as_date(day) <= last
    ]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def compute(silver: DeltaTable, day: date) -> pa.Table:
    week_before = day - timedelta(days=USER_HISTORY_DAYS)
    parameters = {
        **user_features_parameters(day),
        "recent_files": day_files(silver, day - timedelta(days=1), day),
        "older_files": day_files(silver, week_before, day - timedelta(days=2)),
        "oldest_files": day_files(silver, week_before, week_before),
    }
    with connect() as connection:
        return connection.execute(SQL, parameters).to_arrow_table()


def run(lake: Path, day: date, out: Path) -> dict:
    watch = Stopwatch()
    features = compute(DeltaTable(str(lake / SILVER_TABLE)), day)
    watch.lap("read + compute")
    rows = write_features(out, features, day)
    watch.lap("write")
    return counts(rows, watch)
