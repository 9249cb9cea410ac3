"""Bronze batch -> silver rows and quarantined rows (pure; no storage).

Write-audit-publish: deduplicate, validate with the table's Pandera model, and only then
hand back what may be committed. Row-level failures become quarantine rows naming the
failed checks; a schema-level failure raises `BatchRejected` so nothing is written.
"""

import itertools
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow as pa
import pyarrow.compute as pc

from platform_assets.ingest.parsing import LINE_COLUMN, BatchRejected
from platform_assets.ingest.sources import LandingSource
from platform_assets.lake.schemas import SILVER_MODELS
from platform_assets.quarantine import (
    QUARANTINE_PARTITION_COLUMN,
    QUARANTINE_SCHEMA,
    empty_quarantine,
)

_DEDUPLICATION_ORDER = ["_source_file", LINE_COLUMN]
_BRONZE_ONLY_COLUMNS = ["landing_date"]
# Lineage differs between copies of one record; only the content decides "same values".
_NOT_CONTENT = {"_source_file", LINE_COLUMN, "_ingested_at", "landing_date"}


@dataclass
class SilverBatch:
    rows: pa.Table
    quarantine: pa.Table
    bronze_rows: int = 0
    exact_duplicates: int = 0
    failures: Counter = field(default_factory=Counter)
    """Quarantined rows per failed check (a row failing two checks counts for both)."""

    @property
    def accounted_rows(self) -> int:
        return self.rows.num_rows + self.quarantine.num_rows + self.exact_duplicates


def refine(bronze: pa.Table, source: LandingSource, partition: date | None) -> SilverBatch:
    """Deduplicate and validate one bronze batch. Raises `BatchRejected` on schema errors."""
    batch = SilverBatch(rows=bronze, quarantine=empty_quarantine())
    batch.bronze_rows = bronze.num_rows
    candidate = bronze.drop_columns([c for c in _BRONZE_ONLY_COLUMNS if c in bronze.schema.names])
    if source.partitioned:
        days = pa.repeat(pa.scalar(partition, pa.date32()), candidate.num_rows)
        candidate = candidate.append_column(source.partition_date_column, days)

    keep, reasons, batch.exact_duplicates = _deduplicate(candidate, source.key)
    frame = candidate.to_pandas(types_mapper=pd.ArrowDtype)
    for index, reason in _validate(frame if keep.all() else frame[keep], source).items():
        keep[index] = False
        reasons[index] = f"{reasons[index]};{reason}" if index in reasons else reason

    if keep.all():
        batch.rows = candidate
        return batch
    batch.rows = candidate.filter(pa.array(keep))
    quarantined = sorted(reasons)
    for index in quarantined:
        batch.failures.update(reasons[index].split(";"))
    batch.quarantine = _quarantine_rows(frame.iloc[quarantined], reasons, source, partition)
    return batch


def _deduplicate(table: pa.Table, key: str) -> tuple[np.ndarray, dict[int, str], int]:
    """Which rows survive deduplication by `key`, and why the others do not.

    Copies are ordered by delivery (file name, then line); the last copy wins. Earlier
    copies with identical content are dropped and counted, earlier copies with other
    content are quarantined. Rows without a key are left to validation.
    """
    keep = np.ones(table.num_rows, dtype=bool)
    reasons: dict[int, str] = {}
    if pc.count_distinct(table[key]).as_py() == pc.count(table[key]).as_py():
        return keep, reasons, 0
    counts = table.group_by(key).aggregate([(key, "count")])
    repeated = counts.filter(pc.greater(counts[f"{key}_count"], 1))[key]
    if len(repeated) == 0:
        return keep, reasons, 0
    positions = np.flatnonzero(pc.is_in(table[key], value_set=repeated).to_numpy())
    copies = table.take(positions).append_column("_position", pa.array(positions))
    copies = copies.sort_by([(key, "ascending")] + [(c, "ascending") for c in _DEDUPLICATION_ORDER])
    content = [c for c in table.schema.names if c not in _NOT_CONTENT]
    exact = 0
    records = copies.select([*content, "_position"]).to_pylist()
    for _, group in itertools.groupby(records, key=lambda record: record[key]):
        *earlier, winner = group
        for record in earlier:
            keep[record["_position"]] = False
            if all(_same_value(record[c], winner[c]) for c in content):
                exact += 1
            else:
                reasons[record["_position"]] = f"{key}:duplicate_conflict"
    return keep, reasons, exact


def _same_value(left, right) -> bool:
    both_nan = (
        isinstance(left, float) and isinstance(right, float) and left != left and right != right
    )
    return left == right or both_nan


def _validate(frame: pd.DataFrame, source: LandingSource) -> dict[int, str]:
    """Row position -> failed checks; raises `BatchRejected` for schema-level failures."""
    model = SILVER_MODELS[source.name]
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        schema_level = cases[cases["index"].isna()]
        if not schema_level.empty:
            problems = sorted(
                {f"{row.column}: {row.check}" for row in schema_level.itertuples(index=False)}
            )
            raise BatchRejected(
                f"silver {source.name}: the batch does not match {model.__name__} "
                f"({'; '.join(problems)}). Nothing was written; the table is unchanged."
            ) from None
        reasons: dict[int, set[str]] = {}
        for row in cases.itertuples(index=False):
            check = str(row.check)
            name = check if ":" in check else f"{row.column}:{check}"
            reasons.setdefault(int(row.index), set()).add(name)
        return {index: ";".join(sorted(names)) for index, names in reasons.items()}
    return {}


def _quarantine_rows(
    rows: pd.DataFrame, reasons: dict[int, str], source: LandingSource, partition: date | None
) -> pa.Table:
    content = rows.drop(columns=[c for c in rows.columns if c.startswith("_")])
    records = [
        {
            "source": source.name,
            "stage": "silver",
            QUARANTINE_PARTITION_COLUMN: partition,
            "_source_file": rows["_source_file"].iloc[i],
            LINE_COLUMN: int(rows[LINE_COLUMN].iloc[i]),
            "reason": reasons[int(position)],
            "raw_text": json.dumps(
                {k: _jsonable(v) for k, v in content.iloc[i].to_dict().items()}, sort_keys=True
            ),
            "_ingested_at": rows["_ingested_at"].iloc[i],
        }
        for i, position in enumerate(rows.index)
    ]
    return pa.Table.from_pylist(records, schema=QUARANTINE_SCHEMA)


def _jsonable(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)
