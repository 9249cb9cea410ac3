"""The feature assets on a tiny hand-made silver table: a partition that fails validation is
not written; a valid one is, with passing checks."""

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from dagster import materialize

from platform_assets.features.assets import FEATURE_ASSETS, point_in_time_violations
from platform_assets.resources import LakeResource

DAY = date(2024, 3, 2)
UTC_US = pa.timestamp("us", tz="UTC")


def _silver_transactions(amounts: list[float]) -> pa.Table:
    times = [datetime(2024, 3, 2, 10, minute, tzinfo=UTC) for minute in range(len(amounts))]
    return pa.table(
        {
            "transaction_id": [f"t{n}" for n in range(len(amounts))],
            "user_id": ["u1"] * len(amounts),
            "merchant_id": ["m1"] * len(amounts),
            "amount": amounts,
            "location_lat": [48.85] * len(amounts),
            "location_lon": [2.35] * len(amounts),
            "event_time": pa.array(times, UTC_US),
            "event_date": pa.array([DAY] * len(amounts), pa.date32()),
            "_ingested_at": pa.array(times, UTC_US),
        }
    )


def _lake_with(tmp_path, amounts) -> LakeResource:
    lake = LakeResource(root=str(tmp_path / "lake"))
    lake.replace_partition("silver/transactions", _silver_transactions(amounts), "event_date", DAY)
    chargebacks = pa.table(
        {
            "transaction_id": pa.array([], pa.string()),
            "reported_at": pa.array([], UTC_US),
            "reported_date": pa.array([], pa.date32()),
        }
    )
    lake.replace_table("silver/chargebacks", chargebacks)
    return lake


def _materialize(lake: LakeResource):
    return materialize(
        FEATURE_ASSETS,
        partition_key=DAY.isoformat(),
        resources={"lake": lake},
        raise_on_error=False,
    )


def test_valid_partition_is_written_with_passing_checks(tmp_path):
    lake = _lake_with(tmp_path, [10.0, 20.0, 30.0])
    result = _materialize(lake)
    assert result.success
    assert all(evaluation.passed for evaluation in result.get_asset_check_evaluations())
    users = lake.read("features/user_features").sort_by("transaction_id")
    assert users["user_txn_count_1h"].to_pylist() == [0, 1, 2]
    assert users["user_amount_sum_24h"].to_pylist() == [0.0, 10.0, 30.0]


def test_partition_failing_its_schema_is_not_written(tmp_path):
    # Silver never holds a negative amount; a feature table must not pass one on either.
    lake = _lake_with(tmp_path, [10.0, -20.0, 30.0])
    result = _materialize(lake)
    assert not result.success
    failed = {
        (evaluation.asset_key.path[-1], evaluation.check_name)
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    }
    assert ("user_features", "pandera_schema") in failed
    assert lake.open("features/user_features") is None


@pytest.mark.parametrize(
    ("inputs_as_of", "event_date", "expected"),
    [
        (datetime(2024, 3, 2, 9, tzinfo=UTC), DAY, {"inputs_after_event": 0}),
        (None, DAY, {"inputs_after_event": 0}),
        (datetime(2024, 3, 2, 11, tzinfo=UTC), DAY, {"inputs_after_event": 1}),
        (None, date(2024, 3, 3), {"event_outside_partition": 1}),
    ],
)
def test_point_in_time_violations(inputs_as_of, event_date, expected):
    rows = pa.table(
        {
            "event_timestamp": pa.array([datetime(2024, 3, 2, 10, tzinfo=UTC)], UTC_US),
            "event_date": pa.array([event_date], pa.date32()),
            "inputs_as_of": pa.array([inputs_as_of], UTC_US),
        }
    )
    violations = point_in_time_violations(rows)
    assert violations == {"inputs_after_event": 0, "event_outside_partition": 0} | expected
