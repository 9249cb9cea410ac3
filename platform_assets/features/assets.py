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

from platform_assets.features.compute import (
    MERCHANT_HISTORY_DAYS,
    USER_HISTORY_DAYS,
    compute_merchant_features,
    compute_user_features,
)
from platform_assets.features.schemas import MerchantFeatures, UserFeatures
from platform_assets.ingest.sources import CHARGEBACKS, TRANSACTIONS, LandingSource
from platform_assets.lake.assets import silver_key
from platform_assets.pandera_checks import SCHEMA_CHECK, schema_check, schema_problems
from platform_assets.partitions import daily_partitions
from platform_assets.resources import LakeResource
from platform_assets.tables import table_path

FEATURE_PARTITION_COLUMN = "event_date"
_TRANSACTION_COLUMNS = [
    "transaction_id",
    "user_id",
    "merchant_id",
    "amount",
    "location_lat",
    "location_lon",
    "event_time",
    "event_date",
    "_ingested_at",
]
_CHARGEBACK_COLUMNS = ["transaction_id", "reported_at", "reported_date"]


@dataclass(frozen=True)
class FeatureTable:
    name: str
    entity: str
    history_days: int
    inputs: tuple[tuple[LandingSource, list[str]], ...]
    """Silver tables read, with the columns needed."""
    compute: Callable[..., pa.Table]
    """Called with one Arrow table per input (in order) and the day."""
    model: type

    @property
    def key(self) -> AssetKey:
        return AssetKey(["features", self.name])


USER_FEATURES = FeatureTable(
    name="user_features",
    entity="user_id",
    history_days=USER_HISTORY_DAYS,
    inputs=((TRANSACTIONS, _TRANSACTION_COLUMNS),),
    compute=compute_user_features,
    model=UserFeatures,
)
MERCHANT_FEATURES = FeatureTable(
    name="merchant_features",
    entity="merchant_id",
    history_days=MERCHANT_HISTORY_DAYS,
    inputs=((TRANSACTIONS, _TRANSACTION_COLUMNS), (CHARGEBACKS, _CHARGEBACK_COLUMNS)),
    compute=compute_merchant_features,
    model=MerchantFeatures,
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


def _read_input(lake: LakeResource, source: LandingSource, columns, first: date, last: date):
    column = source.partition_date_column
    rows = lake.read(
        table_path(silver_key(source)),
        filters=(pc.field(column) >= first) & (pc.field(column) <= last),
        columns=columns,
    )
    if rows is None:
        raise Failure(
            f"{table_path(silver_key(source))} does not exist yet: materialize the silver "
            "tables for these days (and their history) first"
        )
    return rows


def build_feature_asset(table: FeatureTable):
    key = table.key
    check_specs = [
        AssetCheckSpec(
            SCHEMA_CHECK,
            asset=key,
            partitions_def=daily_partitions,
            description=f"columns, types and ranges match `{table.model.__name__}`; "
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
            for source, _ in table.inputs
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
        inputs = [
            _read_input(lake, source, columns, history_start, last)
            for source, columns in table.inputs
        ]
        transactions = inputs[0]
        days = _days(first, last)
        parts = []
        for day in days:
            parts.append(table.compute(*inputs, day))
            context.log.info(f"{table.name} {day}: {parts[-1].num_rows:,} rows computed")
        rows = pa.concat_tables(parts)

        problems = schema_problems(table.model, rows)
        violations = point_in_time_violations(rows)
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
        day_rows = pc.sum(
            pc.and_(
                pc.greater_equal(transactions["event_date"], first),
                pc.less_equal(transactions["event_date"], last),
            )
        ).as_py()
        history_days = pc.count_distinct(transactions["event_date"]).as_py()
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
                "history_rows_read": transactions.num_rows,
                "days_with_data_read": history_days,
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
