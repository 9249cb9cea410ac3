from datetime import UTC, date, datetime, time, timedelta

import pytest
from dagster import build_schedule_context

from platform_assets.definitions import build_definitions
from platform_assets.monitoring.assets import PerformanceConfig
from platform_assets.monitoring.freshness import FRESHNESS_DEADLINE_CRON
from platform_assets.schedules import (
    matured_performance_schedule,
    nightly_drift_schedule,
    nightly_lake_schedule,
)


@pytest.fixture(scope="module")
def repository():
    """The platform's definitions: a schedule of an asset job resolves its partitions there."""
    return build_definitions().get_repository_def()


def requested_partitions(repository, schedule, execution_time: datetime) -> list[str]:
    context = build_schedule_context(
        scheduled_execution_time=execution_time, repository_def=repository
    )
    return [request.partition_key for request in schedule.evaluate_tick(context).run_requests]


def cron_hour(cron: str) -> int:
    return int(cron.split()[1])


def test_nightly_schedule_runs_yesterdays_partition_at_two(repository):
    assert nightly_lake_schedule.cron_schedule == "0 2 * * *"
    execution = datetime(2024, 3, 5, 2, tzinfo=UTC)
    assert requested_partitions(repository, nightly_lake_schedule, execution) == ["2024-03-04"]


def test_drift_schedule_runs_yesterdays_report_after_the_freshness_deadline(repository):
    assert nightly_drift_schedule.cron_schedule == "0 7 * * *"
    assert nightly_drift_schedule.execution_timezone == "UTC"
    execution = datetime(2024, 3, 5, 7, tzinfo=UTC)
    assert requested_partitions(repository, nightly_drift_schedule, execution) == ["2024-03-04"]
    # the night's order: lake, freshness deadline, then the monitoring schedules
    deadline = cron_hour(FRESHNESS_DEADLINE_CRON)
    assert cron_hour(nightly_lake_schedule.cron_schedule) < deadline
    for schedule in (nightly_drift_schedule, matured_performance_schedule):
        assert cron_hour(schedule.cron_schedule) > deadline


def test_performance_schedule_evaluates_the_day_that_just_matured(repository):
    assert matured_performance_schedule.cron_schedule == "0 7 * * *"
    assert matured_performance_schedule.execution_timezone == "UTC"
    # 30 days to mature: 2 February's last payment matures at 4 March 00:00, inside the
    # chargebacks of 4 March that the 02:00 run of 5 March loaded
    execution = datetime(2024, 3, 5, 7, tzinfo=UTC)
    requested = requested_partitions(repository, matured_performance_schedule, execution)
    assert requested == ["2024-02-02"]


@pytest.mark.parametrize(
    "today",
    [date(2024, 3, 1), date(2024, 3, 31), date(2025, 1, 1), date(2025, 3, 30)],
    ids=str,
)
def test_the_scheduled_day_is_the_last_one_the_asset_accepts(repository, today):
    """By the asset's rule (a day `D` is judged once `D + 1 day + maturity_days` is at or
    before the cutoff, the latest chargeback in silver): with yesterday's chargebacks in the
    lake the cutoff is somewhere in yesterday, so the scheduled day must be mature at
    yesterday's first instant and the day after it immature at yesterday's last."""
    maturity = timedelta(days=PerformanceConfig().maturity_days)
    execution = datetime.combine(today, time(7), UTC)
    (scheduled,) = requested_partitions(repository, matured_performance_schedule, execution)
    day = date.fromisoformat(scheduled)
    yesterday_start = datetime.combine(today - timedelta(days=1), time.min, UTC)
    yesterday_end = yesterday_start + timedelta(days=1) - timedelta(microseconds=1)

    def matures(day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time.min, UTC) + maturity

    assert matures(day) <= yesterday_start
    assert matures(day + timedelta(days=1)) > yesterday_end
