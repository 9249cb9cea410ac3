"""Push every new feature-table partition to the online store, exactly once.

The sensor reads all materializations of the feature tables recorded since its cursor (not
only the latest one per tick, which is all `@asset_sensor` would see), requests the matching
online-store partition for each, keyed by the upstream event's storage id so a re-evaluated
tick never pushes twice, and then moves the cursor past them. A range run of a feature table
records one materialization per day, so each day gets its own push.
"""

from dagster import (
    EventLogRecord,
    MultiAssetSensorEvaluationContext,
    RunRequest,
    SkipReason,
    multi_asset_sensor,
)

from platform_assets.feature_store.online import online_key
from platform_assets.features.assets import FEATURE_TABLES, FeatureTable
from platform_assets.jobs import online_store_job

# How many upstream materializations one tick takes per table; the rest wait for the next.
EVENTS_PER_TICK = 500


def push_request(table: FeatureTable, record: EventLogRecord) -> RunRequest:
    return RunRequest(
        run_key=f"{online_key(table).to_user_string()}:{record.storage_id}",
        partition_key=record.partition_key,
        asset_selection=[online_key(table)],
        tags={"upstream_storage_id": str(record.storage_id)},
    )


@multi_asset_sensor(
    monitored_assets=[table.key for table in FEATURE_TABLES],
    job=online_store_job,
    name="online_store_after_features_sensor",
    minimum_interval_seconds=30,
    description="For every new materialization of a feature-table partition, push that "
    "partition of the matching view to the Feast online store (once per upstream event).",
)
def online_store_after_features_sensor(context: MultiAssetSensorEvaluationContext):
    requests = []
    for table in FEATURE_TABLES:
        records = list(context.materialization_records_for_key(table.key, EVENTS_PER_TICK))
        requests.extend(push_request(table, record) for record in records if record.partition_key)
        if records:
            context.advance_cursor({table.key: records[-1]})
    return requests or SkipReason("no new feature-table partitions")
