"""The platform's schedules, all in UTC, kept together because their hours depend on one
another. A night runs:

- 02:00 `nightly_lake_schedule`: yesterday's partition of the daily lake tables, once the
  day's files have landed; the feature tables and online-store pushes follow by sensor.
- 06:00 the freshness deadline (`monitoring/freshness.py`): yesterday's silver, feature and
  online-store partitions must exist by then.
- 07:00 `nightly_drift_schedule`: yesterday's drift report, and
  `matured_performance_schedule`: the model performance of the day whose labels matured with
  yesterday's chargebacks. After the deadline, so each reads a day whose upstream tables are
  complete, or whose freshness checks have already failed and say which table is late: a
  drift report on a day with feature partitions missing would report the gap as drift.
"""

from datetime import UTC, date, datetime, time, timedelta

from dagster import (
    RunRequest,
    ScheduleEvaluationContext,
    build_schedule_from_partitioned_job,
    schedule,
)

from platform_assets.jobs import daily_lake_job, drift_job, performance_job
from platform_assets.monitoring.assets import PerformanceConfig

MONITORING_HOUR = 7
"""An hour after the 06:00 freshness deadline (FRESHNESS_DEADLINE_CRON)."""

nightly_lake_schedule = build_schedule_from_partitioned_job(
    daily_lake_job,
    name="nightly_lake_schedule",
    hour_of_day=2,
    minute_of_hour=0,
    description="02:00 UTC: materializes yesterday's partition of the daily lake tables.",
)

nightly_drift_schedule = build_schedule_from_partitioned_job(
    drift_job,
    name="nightly_drift_schedule",
    hour_of_day=MONITORING_HOUR,
    minute_of_hour=0,
    description="07:00 UTC, after the 06:00 freshness deadline: the drift report of "
    "yesterday's partition against the champion's training set.",
)


def matured_day(execution_time: datetime, maturity_days: float) -> date:
    """The day whose labels matured with yesterday's chargebacks.

    `monitoring/model_performance` refuses a day `D` unless `D + 1 day + maturity_days` is at
    or before its label cutoff, the latest chargeback in silver. On day `T`, after the 02:00
    lake run, silver holds the chargebacks reported up to `T - 1`, so the cutoff falls on
    `T - 1`: the latest day certainly mature is `T - 2 days - maturity_days` (rounded down
    to a date), and the day after it is not yet. With 30 days, a run on 5 March evaluates
    2 February (not 3 February, the day `maturity_days` before yesterday, which matures at
    midnight tonight).
    """
    today = execution_time.astimezone(UTC).date()
    yesterday = datetime.combine(today - timedelta(days=1), time.min, UTC)
    return (yesterday - timedelta(days=1 + maturity_days)).date()


@schedule(
    name="matured_performance_schedule",
    job=performance_job,
    cron_schedule=f"0 {MONITORING_HOUR} * * *",
    execution_timezone="UTC",
    description="07:00 UTC: the champion's performance on the day whose labels matured with "
    "yesterday's chargebacks (maturity_days before the day before yesterday).",
)
def matured_performance_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = matured_day(context.scheduled_execution_time, PerformanceConfig().maturity_days)
    return RunRequest(partition_key=day.isoformat())
