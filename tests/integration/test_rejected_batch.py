"""A schema-level problem fails the run with a clear message and changes no table."""

from dagster import AssetCheckKey, AssetKey, instance_for_test

from platform_assets.definitions import build_definitions
from platform_assets.environment import platform_settings
from platform_assets.resources import LakeResource
from tests.records import csv_file, jsonl, transaction

DAY = "2024-01-02"
TABLES = ["bronze/transactions", "bronze/transactions_quarantine", "silver/transactions"]


def test_removed_column_rejects_the_partition_and_leaves_tables_unchanged(platform_env):
    settings = platform_settings()
    folder = settings.landing_root / "transactions" / DAY
    folder.mkdir(parents=True)
    (folder / "part-0.jsonl").write_bytes(jsonl(transaction(1), transaction(2, amount="x")))
    job = build_definitions(settings).resolve_job_def("daily_lake_job")
    lake = LakeResource(root=settings.lake_root)
    with instance_for_test() as instance:
        assert job.execute_in_process(partition_key=DAY, instance=instance).success
        versions = {table: lake.version(table) for table in TABLES}
        contents = {table: lake.read(table) for table in TABLES}

        columns = [c for c in transaction() if c != "merchant_category"]
        (folder / "part-1.csv").write_bytes(csv_file(transaction(3), columns=columns))
        result = job.execute_in_process(partition_key=DAY, instance=instance, raise_on_error=False)

        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        message = failure.step_failure_data.error.message + str(
            failure.step_failure_data.user_failure_data.description
        )
        assert "part-1.csv" in message and "merchant_category" in message
        for table in TABLES:
            assert lake.version(table) == versions[table]
            assert lake.read(table).equals(contents[table])
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [AssetCheckKey(AssetKey(["bronze", "transactions"]), "pandera_schema")]
        )
        evaluation = next(iter(check.values())).evaluation
        assert evaluation is not None and not evaluation.passed


def test_day_without_files_materializes_empty_partition(platform_env):
    settings = platform_settings()
    job = build_definitions(settings).resolve_job_def("daily_lake_job")
    with instance_for_test() as instance:
        result = job.execute_in_process(partition_key=DAY, instance=instance)
    assert result.success
    assert LakeResource(root=settings.lake_root).read("silver/transactions").num_rows == 0
