"""Nightly run of yesterday's partition (UTC), once the day's files have landed."""

from dagster import build_schedule_from_partitioned_job

from platform_assets.jobs import daily_lake_job

nightly_lake_schedule = build_schedule_from_partitioned_job(
    daily_lake_job,
    name="nightly_lake_schedule",
    hour_of_day=2,
    minute_of_hour=0,
    description="02:00 UTC: materializes yesterday's partition of the daily lake tables.",
)
