"""Feature-table assets: point-in-time user and merchant features, one Delta table each.

A partition reads its day plus the history its windows need (declared as a partition
mapping, so backfills wait for that history). A run may cover a range of days (single-run
backfills): it computes every day, validates all of them, then replaces them in one commit.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    asset,
)
from pandera.pandas import DataFrameSchema

from platform_assets.features.compute import (
    MERCHANT_HISTORY_DAYS,
    USER_HISTORY_DAYS,
    compute_merchant_features,
    compute_user_features,
    user_feature_reads,
)
from platform_assets.features.schemas import MERCHANT_FEATURES_SCHEMA, USER_FEATURES_SCHEMA
from platform_assets.ingest.sources import CHARGEBACKS, TRANSACTIONS, LandingSource
from platform_assets.lake.assets import silver_key
from platform_assets.pandera_checks import SCHEMA_CHECK, schema_check, schema_problems
from platform_assets.partitions import daily_partitions
from platform_assets.resources import LakeResource
from platform_assets.tables import table_path

FEATURE_PARTITION_COLUMN = "event_date"
_MERCHANT_TRANSACTION_COLUMNS = (
    "transaction_id",
    "merchant_id",
    "event_time",
    "event_date",
    "_ingested_at",
)
_CHARGEBACK_COLUMNS = ("transaction_id", "reported_at", "reported_date")


@dataclass(frozen=True)
class Read:
    """Silver rows a run reads: `columns` of `source` for the days first..last."""

    source: LandingSource
    columns: tuple[str, ...]
    first: date
    last: date


@dataclass(frozen=True)
class FeatureTable:
    name: str
    entity: str
    history_days: int
    sources: tuple[LandingSource, ...]
    """Silver tables read (the asset's upstream dependencies)."""
    reads: Callable[[date, date], list[Read]]
    """What a run of the days first..last reads. The first read is silver transactions
    including the run's own days: the row accounting counts them there."""
    compute: Callable[[list[pa.Table], date], pa.Table]
    """Called with the tables of `reads` (in order) and one day of the run."""
    schema: DataFrameSchema

    @property
    def key(self) -> AssetKey:
        return AssetKey(["features", self.name])


def _user_reads(first: date, last: date) -> list[Read]:
    # The day and the day before with every column the query needs, older days narrower.
    return [
        Read(TRANSACTIONS, columns, *days) for *days, columns in user_feature_reads(first, last)
    ]


def _merchant_reads(first: date, last: date) -> list[Read]:
    start = first - timedelta(days=MERCHANT_HISTORY_DAYS)
    return [
        Read(TRANSACTIONS, _MERCHANT_TRANSACTION_COLUMNS, start, last),
        Read(CHARGEBACKS, _CHARGEBACK_COLUMNS, start, last),
    ]


def _compute_merchants(inputs: list[pa.Table], day: date) -> pa.Table:
    return compute_merchant_features(*inputs, day)


USER_FEATURES = FeatureTable(
    name="user_features",
    entity="user_id",
    history_days=USER_HISTORY_DAYS,
    sources=(TRANSACTIONS,),
    reads=_user_reads,
    compute=compute_user_features,
    schema=USER_FEATURES_SCHEMA,
)
MERCHANT_FEATURES = FeatureTable(
    name="merchant_features",
    entity="merchant_id",
    history_days=MERCHANT_HISTORY_DAYS,
    sources=(TRANSACTIONS, CHARGEBACKS),
    reads=_merchant_reads,
    compute=_compute_merchants,
    schema=MERCHANT_FEATURES_SCHEMA,
)
FEATURE_TABLES = (USER_FEATURES, MERCHANT_FEATURES)


def point_in_time_violations(rows: pa.Table) -> dict[str, int]:
    """Rows breaking the point-in-time rules, per rule (docs/features.md)."""
    event_day = pc.cast(rows["event_timestamp"], pa.date32())
    return {
        "inputs_after_event": pc.sum(
            pc.greater(rows["inputs_as_of"], rows["event_timestamp"])
        ).as_py()
        or 0,
        "event_outside_partition": pc.sum(pc.not_equal(event_day, rows["event_date"])).as_py() or 0,
    }


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _read_input(lake: LakeResource, read: Read) -> pa.Table:
    column = read.source.partition_date_column
    rows = lake.read(
        table_path(silver_key(read.source)),
        filters=(pc.field(column) >= read.first) & (pc.field(column) <= read.last),
        columns=list(read.columns),
    )
    if rows is None:
        raise Failure(
            f"{table_path(silver_key(read.source))} does not exist yet: materialize the silver "
            "tables for these days (and their history) first"
        )
    return rows


def validate(table: FeatureTable, rows: pa.Table) -> tuple[list[str], dict[str, int]]:
    """Pandera schema failures and point-in-time violations of computed rows."""
    return schema_problems(table.schema, rows), point_in_time_violations(rows)


def build_feature_asset(table: FeatureTable):
    key = table.key
    check_specs = [
        AssetCheckSpec(
            SCHEMA_CHECK,
            asset=key,
            partitions_def=daily_partitions,
            description=f"columns, types and ranges match `{table.schema.name}`; "
            "else nothing is written",
        ),
        AssetCheckSpec(
            "point_in_time",
            asset=key,
            partitions_def=daily_partitions,
            description="no row uses data from after its event_timestamp, and every row "
            "lies in its partition; else nothing is written",
        ),
        AssetCheckSpec(
            "rows_accounted_for",
            asset=key,
            partitions_def=daily_partitions,
            description="one feature row per silver transaction of the day",
        ),
    ]

    @asset(
        key=key,
        deps=[
            AssetDep(
                silver_key(source),
                partition_mapping=TimeWindowPartitionMapping(start_offset=-table.history_days),
            )
            for source in table.sources
        ],
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        check_specs=check_specs,
        group_name="features",
        kinds={"delta", "duckdb", "pandera"},
        description=f"Point-in-time features per `{table.entity}` at each transaction "
        f"(docs/features.md); reads {table.history_days} days of history.",
    )
    def feature_asset(context: AssetExecutionContext, lake: LakeResource):
        window = context.partition_time_window
        first, last = window.start.date(), (window.end - timedelta(days=1)).date()
        history_start = first - timedelta(days=table.history_days)
        reads = table.reads(first, last)
        inputs = [_read_input(lake, read) for read in reads]
        days = _days(first, last)
        parts = []
        for day in days:
            parts.append(table.compute(inputs, day))
            context.log.info(f"{table.name} {day}: {parts[-1].num_rows:,} rows computed")
        rows = pa.concat_tables(parts)

        problems, violations = validate(table, rows)
        if problems or any(violations.values()):
            yield schema_check(key, problems, rows.num_rows)
            yield _point_in_time_check(key, violations, rows.num_rows)
            raise Failure(
                f"{table.name} {first}..{last} failed validation and was not written: "
                f"{problems or violations}"
            )
        version = lake.replace_partitions(
            table_path(key), rows, FEATURE_PARTITION_COLUMN, first, last
        )
        run_days = inputs[0]["event_date"]
        day_rows = pc.sum(
            pc.and_(pc.greater_equal(run_days, first), pc.less_equal(run_days, last))
        ).as_py()
        transaction_days = pa.chunked_array(
            [
                chunk
                for read, read_rows in zip(reads, inputs, strict=True)
                if read.source is TRANSACTIONS
                for chunk in read_rows["event_date"].chunks
            ],
            pa.date32(),
        )
        rows_per_day = {
            day.isoformat(): part.num_rows for day, part in zip(days, parts, strict=True)
        }
        # A range run records this metadata on every partition of the range: the row count
        # is only a partition's own when the run is one day.
        row_count = {"dagster/row_count": rows.num_rows} if len(days) == 1 else {}
        yield MaterializeResult(
            asset_key=key,
            metadata={
                **row_count,
                "rows_per_day": MetadataValue.json(rows_per_day),
                "rows_in_run": rows.num_rows,
                "entities": pc.count_distinct(rows[table.entity]).as_py(),
                "history_rows_read": len(transaction_days),
                "days_with_data_read": pc.count_distinct(transaction_days).as_py(),
                "days_expected": (last - history_start).days + 1,
                "delta_version": version,
            },
        )
        yield schema_check(key, [], rows.num_rows)
        yield _point_in_time_check(key, violations, rows.num_rows)
        yield AssetCheckResult(
            asset_key=key,
            check_name="rows_accounted_for",
            passed=day_rows == rows.num_rows,
            metadata={"silver_transactions": day_rows, "feature_rows": rows.num_rows},
        )

    return feature_asset


def _point_in_time_check(key: AssetKey, violations: dict[str, int], rows: int):
    return AssetCheckResult(
        asset_key=key,
        check_name="point_in_time",
        passed=not any(violations.values()),
        metadata={"rows_checked": rows, **violations},
    )


FEATURE_ASSETS = [build_feature_asset(table) for table in FEATURE_TABLES]
