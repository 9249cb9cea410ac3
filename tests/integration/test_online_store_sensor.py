"""The online-store sensor over the real event log: every feature-table materialization since
the cursor becomes exactly one push request, also when several land between two ticks."""

import pytest
from dagster import RunRequest, build_multi_asset_sensor_context

from platform_assets.feature_store.online import online_key
from platform_assets.feature_store.sensors import online_store_after_features_sensor
from platform_assets.features.assets import FEATURE_TABLES

pytestmark = pytest.mark.integration


def tick(lake, cursor: str | None) -> tuple[list[RunRequest], str | None]:
    context = build_multi_asset_sensor_context(
        monitored_assets=[table.key for table in FEATURE_TABLES],
        instance=lake.instance,
        definitions=lake.defs,
        cursor=cursor,
    )
    result = online_store_after_features_sensor(context)
    requests = result if isinstance(result, list) else []
    return requests, context.cursor


def upstream_events(lake) -> dict[str, tuple[str, str]]:
    """run_key the sensor should use -> (asset, partition), for every recorded event."""
    events = {}
    for table in FEATURE_TABLES:
        for record in lake.instance.fetch_materializations(table.key, limit=10_000).records:
            run_key = f"{online_key(table).to_user_string()}:{record.storage_id}"
            events[run_key] = (online_key(table).to_user_string(), record.partition_key)
    return events


def as_pushes(requests: list[RunRequest]) -> dict[str, tuple[str, str]]:
    pushes = {}
    for request in requests:
        (key,) = request.asset_selection
        assert request.run_key not in pushes, "one upstream event, one push"
        pushes[request.run_key] = (key.to_user_string(), request.partition_key)
    return pushes


def test_every_feature_partition_event_is_pushed_exactly_once(materialized_lake):
    before = upstream_events(materialized_lake)
    first_tick, cursor = tick(materialized_lake, None)
    assert as_pushes(first_tick) == before
    # the initial range run recorded one event per day, so every day is pushed
    assert {partition for _, partition in before.values()} == set(materialized_lake.days)

    assert tick(materialized_lake, cursor)[0] == []

    # two partitions finish between two ticks: both are pushed, once each
    for day in materialized_lake.days[-2:]:
        assert materialized_lake.run_features(day, day).success
    second_tick, cursor = tick(materialized_lake, cursor)
    new_events = {
        key: event for key, event in upstream_events(materialized_lake).items() if key not in before
    }
    assert as_pushes(second_tick) == new_events
    assert sorted(new_events.values()) == sorted(
        (online_key(table).to_user_string(), day)
        for table in FEATURE_TABLES
        for day in materialized_lake.days[-2:]
    )
    assert tick(materialized_lake, cursor)[0] == []
