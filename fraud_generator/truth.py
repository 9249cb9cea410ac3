"""Ground truth: what the platform must make of every source line, and the GroundTruth handle
that tests use to read it back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_generator.defects import (
    DEFECT_NAMES,
    NULL_TRANSACTION_ID,
    OUTCOMES,
    REASONS,
    SILVER,
    WARNINGS,
)
from fraud_generator.events import FRAUD_PATTERNS, DayEvents
from fraud_generator.layout import DayPlan
from fraud_generator.text import take
from fraud_generator.world import World
from fraud_generator.writer import descriptive_columns, transaction_ids

TRUTH_DIR = "_ground_truth"
TRANSACTIONS_TRUTH = "transactions.parquet"
CHARGEBACKS_TRUTH = "chargebacks.parquet"
SUMMARY = "summary.json"

TRANSACTION_TRUTH_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("line", pa.int64()),
        ("partition_date", pa.date32()),
        ("transaction_id", pa.string()),
        ("is_fraud", pa.bool_()),
        ("fraud_pattern", pa.string()),
        ("defect", pa.string()),
        ("expected_outcome", pa.string()),
        ("expected_reason", pa.string()),
        ("warning", pa.string()),
        # clean typed values, only for lines expected in silver
        ("user_id", pa.string()),
        ("card_number", pa.string()),
        ("amount", pa.float64()),
        ("currency", pa.string()),
        ("merchant_id", pa.string()),
        ("merchant_category", pa.string()),
        ("location_lat", pa.float64()),
        ("location_lon", pa.float64()),
        ("payment_method", pa.string()),
        ("device_id", pa.string()),
        ("event_time_utc", pa.timestamp("us", tz="UTC")),
    ]
)


def transaction_truth(plan: DayPlan, events: DayEvents, world: World, width: int) -> pa.Table:
    """One row per data line of the day's transaction files (re-delivered copies included)."""
    rows = np.concatenate([file.line_rows for file in plan.files])
    count = len(rows)
    file_index = np.repeat(np.arange(len(plan.files)), [len(f.line_rows) for f in plan.files])
    line = np.concatenate([np.arange(len(f.line_rows)) + f.first_data_line for f in plan.files])
    expected = plan.line_expectations()
    silver = expected.outcome == OUTCOMES.index(SILVER)
    pattern = events.fraud_pattern[rows]
    event_ms = events.event_ms[rows]
    event_ms = event_ms - event_ms % expected.event_time_resolution_ms
    columns = {
        "source_file": take(pa.array([f.path for f in plan.files]), file_index),
        "line": pa.array(line),
        "partition_date": pa.array(np.full(count, np.datetime64(plan.day, "D"))),
        "transaction_id": transaction_ids(
            np.full(count, plan.day.toordinal()),
            rows + 1,
            width,
            expected.defect != NULL_TRANSACTION_ID,
        ),
        "is_fraud": pa.array(pattern >= 0),
        "fraud_pattern": take(pa.array(FRAUD_PATTERNS), pattern, pattern >= 0),
        "defect": take(pa.array(DEFECT_NAMES), expected.defect, expected.defect >= 0),
        "expected_outcome": take(pa.array(OUTCOMES), expected.outcome),
        "expected_reason": take(pa.array(REASONS), expected.reason, expected.reason >= 0),
        "warning": take(pa.array(WARNINGS), expected.warning, expected.warning >= 0),
        **descriptive_columns(events, world, rows, silver),
        "amount": pa.array(events.amount[rows], mask=~silver),
        "location_lat": pa.array(events.lat[rows], mask=~silver),
        "location_lon": pa.array(events.lon[rows], mask=~silver),
        "event_time_utc": pa.array(
            event_ms * 1000, TRANSACTION_TRUTH_SCHEMA.field("event_time_utc").type, mask=~silver
        ),
    }
    return pa.table(
        {name: columns[name] for name in TRANSACTION_TRUTH_SCHEMA.names},
        schema=TRANSACTION_TRUTH_SCHEMA,
    )


@dataclass
class GroundTruth:
    """What the generator wrote and what the platform should make of it.

    `transactions` has one row per data line of every transactions file, `chargebacks` one
    row per written chargeback, `summary` the run's config, per-day counts and file list."""

    landing_dir: Path
    summary: dict

    @classmethod
    def load(cls, landing_dir: Path | str) -> GroundTruth:
        landing_dir = Path(landing_dir)
        summary = json.loads((landing_dir / TRUTH_DIR / SUMMARY).read_text())
        return cls(landing_dir, summary)

    @property
    def truth_dir(self) -> Path:
        return self.landing_dir / TRUTH_DIR

    @cached_property
    def transactions(self) -> pd.DataFrame:
        return pq.read_table(self.truth_dir / TRANSACTIONS_TRUTH).to_pandas()

    @cached_property
    def chargebacks(self) -> pd.DataFrame:
        return pq.read_table(self.truth_dir / CHARGEBACKS_TRUTH).to_pandas()
