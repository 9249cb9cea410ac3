from datetime import UTC, datetime

from dagster import build_schedule_context

from platform_assets.schedules import nightly_lake_schedule


def test_nightly_schedule_runs_yesterdays_partition_at_two():
    assert nightly_lake_schedule.cron_schedule == "0 2 * * *"
    context = build_schedule_context(scheduled_execution_time=datetime(2024, 3, 5, 2, tzinfo=UTC))
    requests = nightly_lake_schedule.evaluate_tick(context).run_requests
    assert [request.partition_key for request in requests] == ["2024-03-04"]
