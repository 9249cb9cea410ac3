"""Quarantine tables: every row a layer refused, with its raw text and the reason.

Each lake table `X` has a sibling asset `X_quarantine` with this one schema, written in the
same run, after the same Pandera validation, so refused rows are never lost.
"""

from datetime import date

import pandas as pd
import pandera.pandas as pandera_pd
import pyarrow as pa
from dagster import (
    AssetCheckSpec,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
)

from platform_assets.pandera_checks import SCHEMA_CHECK, schema_check, schema_problems
from platform_assets.resources import LakeResource
from platform_assets.tables import commit, quarantine_key

QUARANTINE_PARTITION_COLUMN = "partition_date"
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string()),
        pa.field("stage", pa.string()),
        pa.field(QUARANTINE_PARTITION_COLUMN, pa.date32()),
        pa.field("_source_file", pa.string()),
        pa.field("_line", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw_text", pa.string()),
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)
_REQUIRED = {"source", "stage", "_source_file", "_line", "reason", "raw_text", "_ingested_at"}
QUARANTINE_PANDERA_SCHEMA = pandera_pd.DataFrameSchema(
    {
        field.name: pandera_pd.Column(
            pd.ArrowDtype(field.type), nullable=field.name not in _REQUIRED
        )
        for field in QUARANTINE_SCHEMA
    }
    | {
        "stage": pandera_pd.Column(
            pd.ArrowDtype(pa.string()), pandera_pd.Check.isin(["bronze", "silver"])
        ),
        "reason": pandera_pd.Column(
            pd.ArrowDtype(pa.string()), pandera_pd.Check.str_length(min_value=1)
        ),
    },
    name="quarantine",
    strict=True,
)


def empty_quarantine() -> pa.Table:
    return QUARANTINE_SCHEMA.empty_table()


def reason_counts(quarantine: pa.Table) -> dict[str, int]:
    """Quarantined rows per reason code, for metadata."""
    if quarantine.num_rows == 0:
        return {}
    counts = quarantine.group_by("reason").aggregate([("reason", "count")])
    return dict(zip(counts["reason"].to_pylist(), counts["reason_count"].to_pylist(), strict=True))


def quarantine_spec(table_key: AssetKey, upstream: AssetKey, group: str, what: str) -> AssetSpec:
    return AssetSpec(
        quarantine_key(table_key),
        deps=[upstream],
        group_name=group,
        description=what,
        kinds={"delta"},
    )


def quarantine_check_spec(
    table_key: AssetKey, partitions_def: PartitionsDefinition | None
) -> AssetCheckSpec:
    return AssetCheckSpec(
        SCHEMA_CHECK,
        asset=quarantine_key(table_key),
        partitions_def=partitions_def,
        description="quarantine rows match the shared quarantine schema, checked before commit",
    )


def quarantine_problems(quarantine: pa.Table) -> list[str]:
    return schema_problems(QUARANTINE_PANDERA_SCHEMA, quarantine)


def commit_quarantine(
    lake: LakeResource, table_key: AssetKey, quarantine: pa.Table, day: date | None
):
    """Commit a validated batch of quarantine rows; yields its Dagster results."""
    key = quarantine_key(table_key)
    partition_column = QUARANTINE_PARTITION_COLUMN if day is not None else None
    version = commit(lake, key, quarantine, partition_column, day)
    yield MaterializeResult(
        asset_key=key,
        metadata={
            "dagster/row_count": quarantine.num_rows,
            "reasons": MetadataValue.json(reason_counts(quarantine)),
            "delta_version": version,
        },
    )
    yield schema_check(key, [], quarantine.num_rows)
