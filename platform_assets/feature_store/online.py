"""Online-store assets: one per feature view, daily partitioned, pushed by Feast `materialize`.

A partition (or a range of them, in one run) pushes exactly its window of event time, plus an
optional overlap before it for late rows, with `FeatureStore.materialize(start, end)`. Never
`materialize_incremental`: its stored watermark skips rows that arrive after a later window
was pushed. Whether an older window may overwrite newer online values is the online store's
business (see docs/online_store.md): the platform's stores keep the newer value.

Each push records entities pushed, seconds, entities/s and two freshness lags, as Dagster
metadata and as one MLflow run in the experiment `feature_store_online_push`.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow.compute as pc
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from platform_assets.feature_store.registry import FEATURE_STORE_GROUP, REGISTRY_KEY
from platform_assets.feature_store.repo import FeastResource
from platform_assets.features.assets import (
    FEATURE_PARTITION_COLUMN,
    FEATURE_TABLES,
    FeatureTable,
)
from platform_assets.partitions import daily_partitions
from platform_assets.resources import LakeResource
from platform_assets.tables import table_path
from platform_assets.tracking import TrackingResource
from platform_assets.transform.warehouse import window_days

PUSH_EXPERIMENT = "feature_store_online_push"


class OnlinePushConfig(Config):
    overlap_hours: float = Field(
        default=0.0,
        ge=0,
        description="Also push this many hours of event time before the partition's window, "
        "for rows that arrived late in the previous day's table.",
    )


@dataclass(frozen=True)
class PushWindow:
    start: datetime
    end: datetime
    """Inclusive: Feast's materialize keeps rows with start <= event time <= end."""

    @classmethod
    def of_days(cls, first, last, overlap_hours: float) -> "PushWindow":
        start = datetime.combine(first, datetime.min.time(), UTC)
        end = datetime.combine(last, datetime.min.time(), UTC) + timedelta(days=1)
        return cls(start - timedelta(hours=overlap_hours), end - timedelta(microseconds=1))


def online_key(table: FeatureTable) -> AssetKey:
    return AssetKey(["feature_store", f"online_{table.name}"])


def window_summary(lake: LakeResource, table: FeatureTable, window: PushWindow) -> dict:
    """What the window holds in the offline table: entities (Feast pushes the latest row of
    each) and the newest event time."""
    rows = lake.read(
        table_path(table.key),
        filters=(pc.field(FEATURE_PARTITION_COLUMN) >= window.start.date())
        & (pc.field(FEATURE_PARTITION_COLUMN) <= window.end.date())
        & (pc.field("event_timestamp") >= window.start)
        & (pc.field("event_timestamp") <= window.end),
        columns=[table.entity, "event_timestamp"],
    )
    if rows is None or rows.num_rows == 0:
        return {"entities": 0, "newest_event": None}
    return {
        "entities": pc.count_distinct(rows[table.entity]).as_py(),
        "newest_event": pc.max(rows["event_timestamp"]).as_py(),
    }


def _latest_upstream_materialization(context: AssetExecutionContext, table: FeatureTable):
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=table.key, asset_partitions=context.partition_keys),
        limit=1,
        ascending=False,
    ).records
    return datetime.fromtimestamp(records[0].timestamp, UTC) if records else None


def build_online_asset(table: FeatureTable):
    @asset(
        key=online_key(table),
        group_name=FEATURE_STORE_GROUP,
        partitions_def=daily_partitions,
        deps=[AssetDep(table.key), AssetDep(REGISTRY_KEY)],
        backfill_policy=BackfillPolicy.single_run(),
        kinds={"feast"},
        description=f"Feast online store, view `{table.name}`: the latest features of every "
        f"{table.entity.removesuffix('_id')} seen in the partition's window, for serving.",
    )
    def online_asset(
        context: AssetExecutionContext,
        config: OnlinePushConfig,
        feast: FeastResource,
        lake: LakeResource,
        tracking: TrackingResource,
    ) -> MaterializeResult:
        # Imported here, not with the module: loading the code location must not import Feast.
        from feast.errors import FeatureViewNotFoundException

        first, last = window_days(context.partition_time_window)
        window = PushWindow.of_days(first, last, config.overlap_hours)
        store = feast.store()
        try:
            store.get_feature_view(table.name)
        except FeatureViewNotFoundException as error:
            raise Failure(
                f"Feature view `{table.name}` is not in the Feast registry: materialize "
                f"{REGISTRY_KEY.to_user_string()} first (feast apply)."
            ) from error
        offered = window_summary(lake, table, window)
        context.log.info(
            "Pushing %s %ss (%s .. %s) into the online store",
            f"{offered['entities']:,}",
            table.entity.removesuffix("_id"),
            window.start.isoformat(),
            window.end.isoformat(),
        )
        started = time.perf_counter()
        store.materialize(start_date=window.start, end_date=window.end, feature_views=[table.name])
        seconds = time.perf_counter() - started
        pushed_at = datetime.now(UTC)
        upstream_at = _latest_upstream_materialization(context, table)
        metrics = {
            "entities_pushed": offered["entities"],
            "seconds": seconds,
            "entities_per_second": offered["entities"] / seconds if seconds > 0 else 0.0,
        }
        if offered["newest_event"] is not None:
            metrics["event_lag_seconds"] = (pushed_at - offered["newest_event"]).total_seconds()
        if upstream_at is not None:
            metrics["pipeline_lag_seconds"] = (pushed_at - upstream_at).total_seconds()
        run_id = tracking.log_run(
            PUSH_EXPERIMENT,
            run_name=f"{table.name} {first.isoformat()}..{last.isoformat()}",
            params={
                "feature_view": table.name,
                "first_day": first.isoformat(),
                "last_day": last.isoformat(),
                "window_start": window.start.isoformat(),
                "window_end": window.end.isoformat(),
                "overlap_hours": config.overlap_hours,
                "online_store": store.config.online_store.type,
                "project": store.project,
            },
            metrics=metrics,
            tags={"dagster_run_id": context.run_id, "asset": online_key(table).to_user_string()},
        )
        return MaterializeResult(
            metadata={
                **{name: MetadataValue.float(float(value)) for name, value in metrics.items()},
                "entities_pushed": MetadataValue.int(offered["entities"]),
                "window": f"{window.start.isoformat()} .. {window.end.isoformat()}",
                "mlflow_run_id": run_id,
            }
        )

    return online_asset


ONLINE_ASSETS = [build_online_asset(table) for table in FEATURE_TABLES]
