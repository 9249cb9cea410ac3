"""Naming and committing of lake tables: asset key `["silver", "transactions"]` lives at
`<lake root>/silver/transactions`, its quarantine at `.../transactions_quarantine`."""

from datetime import date

import pyarrow as pa
from dagster import AssetKey

from platform_assets.resources import LakeResource


def table_path(key: AssetKey) -> str:
    return "/".join(key.path)


def quarantine_key(key: AssetKey) -> AssetKey:
    return AssetKey([*key.path[:-1], f"{key.path[-1]}_quarantine"])


def manifest_key(key: AssetKey) -> AssetKey:
    """Bookkeeping table of the files a bronze table ingested (not an asset of its own)."""
    return AssetKey([*key.path[:-1], f"{key.path[-1]}_files"])


def commit(
    lake: LakeResource,
    key: AssetKey,
    rows: pa.Table,
    partition_column: str | None,
    day: date | None,
) -> int:
    """Replace the batch's partition (or the whole table if unpartitioned); the new version."""
    if partition_column is None:
        return lake.replace_table(table_path(key), rows)
    return lake.replace_partition(table_path(key), rows, partition_column, day)
