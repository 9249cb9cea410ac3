"""Keep the feature tables in step with silver.

When a `daily_lake_job` run for day D succeeds (the nightly schedule, or the landing sensor
after a late or corrected file), every feature partition whose window reads day D is stale:
D itself and the following `history_days` days that already exist. One run per feature table
recomputes that range (a single run, so it reads the history once).
"""

from datetime import date, timedelta

from dagster import (
    DagsterRunStatus,
    RunRequest,
    RunStatusSensorContext,
    SkipReason,
    run_status_sensor,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from platform_assets.features.assets import FEATURE_TABLES, FeatureTable
from platform_assets.jobs import daily_features_job, daily_lake_job
from platform_assets.partitions import daily_partitions


def stale_range(table: FeatureTable, changed_day: date, last_day: date) -> tuple[date, date]:
    """The partitions of `table` whose windows read `changed_day`, up to `last_day`."""
    return changed_day, min(changed_day + timedelta(days=table.history_days), last_day)


def feature_refresh_requests(run_id: str, changed_day: date, last_day: date) -> list[RunRequest]:
    requests = []
    for table in FEATURE_TABLES:
        first, last = stale_range(table, changed_day, last_day)
        requests.append(
            RunRequest(
                run_key=f"{run_id}:{table.name}",
                job_name=daily_features_job.name,
                asset_selection=[table.key],
                tags={
                    ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
                    ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
                },
            )
        )
    return requests


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[daily_lake_job],
    request_job=daily_features_job,
    name="features_after_lake_sensor",
    description="After a day's lake run succeeds, recompute the feature partitions that read "
    "that day (the day and, for late data, the following window).",
)
def features_after_lake_sensor(context: RunStatusSensorContext):
    partition = context.dagster_run.tags.get("dagster/partition")
    if partition is None:
        return SkipReason("the lake run had no single partition")
    last_day = date.fromisoformat(daily_partitions.get_last_partition_key())
    return feature_refresh_requests(
        context.dagster_run.run_id, date.fromisoformat(partition), last_day
    )
