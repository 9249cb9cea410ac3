"""Helpers shared by the gold tests: materialize the dbt assets over a range of days, and
read the marts back from either warehouse in one comparable shape."""

import datetime as dt

import duckdb
import pandas as pd
from dagster import DagsterInstance, Definitions, ExecuteInProcessResult

from platform_assets.transform.assets import gold_dbt_assets

# Each mart and the columns that identify its rows (sort order for comparisons).
MART_KEYS = {
    "fct_transactions": ["transaction_id"],
    "fct_chargebacks": ["transaction_id"],
    "user_daily_stats": ["user_id", "event_date"],
    "merchant_daily_stats": ["merchant_id", "event_date"],
}
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def materialize_gold(
    defs: Definitions, instance: DagsterInstance, first_day: str, last_day: str
) -> ExecuteInProcessResult:
    """One run over `first_day`..`last_day`, as a single-run backfill launches it."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(gold_dbt_assets.keys)
    )
    return job.execute_in_process(
        instance=instance, tags={RANGE_START_TAG: first_day, RANGE_END_TAG: last_day}
    )


def duckdb_marts(path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            mart: comparable(connection.sql(f"select * from gold.{mart}").df(), keys)
            for mart, keys in MART_KEYS.items()
        }


def postgres_marts(connection) -> dict[str, pd.DataFrame]:
    marts = {}
    with connection.cursor() as cursor:
        for mart, keys in MART_KEYS.items():
            cursor.execute(f"select * from gold.{mart}")
            columns = [column.name for column in cursor.description]
            marts[mart] = comparable(pd.DataFrame(cursor.fetchall(), columns=columns), keys)
    return marts


def comparable(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows sorted by their key; timestamps as UTC instants, dates as ISO text, numbers as
    float, so frames from DuckDB and Postgres compare equal when their values do."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        first = values.dropna().iloc[0] if values.notna().any() else None
        # DuckDB hands dates over as naive datetime64, Postgres as `date` objects.
        if isinstance(values.dtype, pd.DatetimeTZDtype) or (
            values.dtype == object and isinstance(first, dt.datetime)
        ):
            frame[column] = pd.to_datetime(values, utc=True).astype("datetime64[us, UTC]")
        elif pd.api.types.is_datetime64_dtype(values.dtype) or isinstance(first, dt.date):
            frame[column] = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            frame[column] = values.astype("float64")
    return frame.sort_values(keys).reset_index(drop=True)
