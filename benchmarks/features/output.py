"""What every feature contender writes, and a stopwatch for its stages."""

import time
from datetime import date
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

SILVER_TABLE = "silver/transactions"
FEATURES_TABLE = "features/user_features"
"""The platform's paths of these tables under a lake root (a test checks they agree)."""

UTC_TIME = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        ("transaction_id", pa.string()),
        ("user_id", pa.string()),
        ("event_timestamp", UTC_TIME),
        ("created_timestamp", UTC_TIME),
        ("event_date", pa.date32()),
        ("user_txn_count_1h", pa.int64()),
        ("user_txn_count_24h", pa.int64()),
        ("user_txn_count_7d", pa.int64()),
        ("user_amount_sum_24h", pa.float64()),
        ("user_amount_mean_7d", pa.float64()),
        ("user_distinct_merchants_24h", pa.int64()),
        ("user_seconds_since_prev_txn", pa.float64()),
        ("user_km_from_prev_txn", pa.float64()),
        ("user_velocity_kmh", pa.float64()),
        ("inputs_as_of", UTC_TIME),
    ]
)
"""docs/features.md's `features/user_features`, in that order."""


class Stopwatch:
    """Wall seconds of consecutive stages: `lap("read")` ends the stage called "read"."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._clock = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = now - self._clock
        self._clock = now


def features_uri(out: Path) -> Path:
    return out / "lake" / FEATURES_TABLE


def write_features(out: Path, features: pa.Table, day: date) -> int:
    """Replace `day`'s partition of `<out>/lake/features/user_features`; rows written."""
    rows = features.select(SCHEMA.names).cast(SCHEMA)
    write_deltalake(
        str(features_uri(out)),
        rows,
        mode="overwrite",
        partition_by=["event_date"],
        predicate=f"event_date = '{day.isoformat()}'",
    )
    return rows.num_rows


def counts(rows: int, watch: Stopwatch) -> dict:
    return {"source_rows": rows, "feature_rows": rows, "stages": watch.stages}
