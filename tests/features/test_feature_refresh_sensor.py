"""Which feature partitions a changed silver day makes stale, and the runs requested."""

from datetime import date

from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    build_run_status_sensor_context,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from platform_assets.definitions import build_definitions
from platform_assets.features.assets import MERCHANT_FEATURES, USER_FEATURES
from platform_assets.features.sensors import (
    feature_refresh_requests,
    features_after_lake_sensor,
    stale_range,
)


def test_stale_range_covers_every_partition_whose_window_reads_the_day():
    changed = date(2024, 3, 1)
    far_future = date(2030, 1, 1)
    assert stale_range(USER_FEATURES, changed, far_future) == (changed, date(2024, 3, 8))
    assert stale_range(MERCHANT_FEATURES, changed, far_future) == (changed, date(2024, 3, 31))


def test_stale_range_stops_at_the_last_partition():
    changed = date(2024, 3, 1)
    assert stale_range(MERCHANT_FEATURES, changed, date(2024, 3, 3)) == (changed, date(2024, 3, 3))


def test_one_range_run_per_feature_table_keyed_by_the_lake_run():
    requests = feature_refresh_requests("run-1", date(2024, 3, 1), date(2024, 3, 4))
    by_key = {request.run_key: request for request in requests}
    assert set(by_key) == {"run-1:user_features", "run-1:merchant_features"}
    user = by_key["run-1:user_features"]
    assert user.asset_selection == [USER_FEATURES.key]
    assert user.tags[ASSET_PARTITION_RANGE_START_TAG] == "2024-03-01"
    assert user.tags[ASSET_PARTITION_RANGE_END_TAG] == "2024-03-04"


def test_sensor_requests_refresh_after_a_successful_lake_partition_run(platform_env):
    instance = DagsterInstance.ephemeral()
    job = build_definitions().resolve_job_def("daily_lake_job")
    run = instance.create_run_for_job(job, tags={"dagster/partition": "2024-03-01"})
    context = build_run_status_sensor_context(
        sensor_name=features_after_lake_sensor.name,
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=DagsterEvent(DagsterEventType.RUN_SUCCESS.value, job_name=job.name),
    )
    requests = features_after_lake_sensor(context)
    assert sorted(request.run_key for request in requests) == [
        f"{run.run_id}:merchant_features",
        f"{run.run_id}:user_features",
    ]
    assert all(r.job_name == "daily_features_job" for r in requests)
