"""LakeResource on a real S3 server: partitions round-trip, overwrites stay in their
partition, and concurrent writers of one table all land."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pyarrow as pa
import pytest
from botocore.exceptions import ClientError
from dagster import build_resources

from platform_assets.resources import LakeResource, platform_resources

pytestmark = pytest.mark.services

TABLE = "bronze/events"
PARTITION_COLUMN = "event_date"
FIRST_DAY = date(2024, 1, 1)
SECOND_DAY = date(2024, 1, 2)


def events(day: date, *transaction_ids: str) -> pa.Table:
    return pa.table(
        {
            PARTITION_COLUMN: pa.array([day] * len(transaction_ids), pa.date32()),
            "transaction_id": pa.array(transaction_ids, pa.string()),
        }
    )


def transaction_ids(rows: pa.Table) -> list[str]:
    return sorted(rows["transaction_id"].to_pylist())


@pytest.fixture
def lake(services_env) -> LakeResource:
    """The lake resource exactly as the services profile's definitions build it."""
    with build_resources(platform_resources(services_env)) as resources:
        yield resources.lake


def test_the_lake_lives_in_the_s3_bucket(lake):
    lake.replace_partition(TABLE, events(FIRST_DAY, "tx-1"), PARTITION_COLUMN, FIRST_DAY)

    bucket, prefix = lake.table_uri(TABLE).removeprefix("s3://").split("/", 1)
    listing = lake.s3.get_client().list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/_delta_log/")
    assert [item["Key"].rsplit("/", 1)[1] for item in listing["Contents"]] == [
        "00000000000000000000.json",
        "00000000000000000001.json",
    ]


def test_a_partition_round_trips_and_an_overwrite_replaces_only_that_partition(lake):
    first = lake.replace_partition(TABLE, events(FIRST_DAY, "a", "b"), PARTITION_COLUMN, FIRST_DAY)
    second = lake.replace_partition(TABLE, events(SECOND_DAY, "c"), PARTITION_COLUMN, SECOND_DAY)
    assert transaction_ids(lake.read_partition(TABLE, PARTITION_COLUMN, FIRST_DAY)) == ["a", "b"]

    rewrite = lake.replace_partition(TABLE, events(FIRST_DAY, "d"), PARTITION_COLUMN, FIRST_DAY)

    assert first < second < rewrite
    assert transaction_ids(lake.read_partition(TABLE, PARTITION_COLUMN, FIRST_DAY)) == ["d"]
    assert transaction_ids(lake.read_partition(TABLE, PARTITION_COLUMN, SECOND_DAY)) == ["c"]
    assert transaction_ids(lake.read(TABLE)) == ["c", "d"]
    before_rewrite = lake.open(TABLE, version=second).to_pyarrow_table()
    assert transaction_ids(before_rewrite) == ["a", "b", "c"]


def test_concurrent_writers_of_one_table_each_commit_their_own_partition(lake):
    days = [FIRST_DAY + timedelta(days=offset) for offset in range(6)]

    def write(day: date) -> int:
        return lake.replace_partition(TABLE, events(day, f"tx-{day}"), PARTITION_COLUMN, day)

    with ThreadPoolExecutor(len(days)) as pool:
        versions = dict(zip(days, pool.map(write, days), strict=True))

    assert transaction_ids(lake.read(TABLE)) == sorted(f"tx-{day}" for day in days)
    history = {commit["version"]: commit for commit in lake.open(TABLE).history()}
    # One creator won; the others found its table instead of committing their own on top.
    assert [v for v, commit in history.items() if commit["operation"] == "CREATE TABLE"] == [0]
    # Each writer reports the version it committed, not whichever version was latest after it.
    for day, version in versions.items():
        assert f"'{day}'" in history[version]["operationParameters"]["predicate"]


def test_the_s3_server_refuses_to_overwrite_an_existing_commit(lake):
    """Delta commits on S3 are safe only because the server honours `If-None-Match: *`."""
    lake.replace_partition(TABLE, events(FIRST_DAY, "tx-1"), PARTITION_COLUMN, FIRST_DAY)
    bucket, prefix = lake.table_uri(TABLE).removeprefix("s3://").split("/", 1)
    commit_key = f"{prefix}/_delta_log/00000000000000000001.json"
    client = lake.s3.get_client()

    with pytest.raises(ClientError, match="PreconditionFailed"):
        client.put_object(Bucket=bucket, Key=commit_key, Body=b"{}", IfNoneMatch="*")
    assert transaction_ids(lake.read(TABLE)) == ["tx-1"]
