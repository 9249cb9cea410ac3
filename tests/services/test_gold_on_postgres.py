"""The dbt `postgres` target: silver loaded into the machine's PostgreSQL, the same models
built there, and every mart equal to the one dbt-duckdb builds from the same silver tables."""

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta

import pandas as pd
import pytest
from dagster import instance_for_test

from fraud_generator import GeneratorConfig, generate
from platform_assets.definitions import build_definitions
from platform_assets.environment import PlatformSettings, WarehouseSettings, platform_settings
from platform_assets.resources import LakeResource
from platform_assets.transform.postgres_silver import SILVER_SCHEMA
from tests.conftest import TEST_KEY
from tests.services.conftest import PostgresDatabase
from tests.transform.gold_marts import duckdb_marts, materialize_gold, postgres_marts

pytestmark = pytest.mark.services

FIRST_DAY = date(2024, 1, 1)
DAYS = [(FIRST_DAY + timedelta(days=offset)).isoformat() for offset in range(2)]


@dataclasses.dataclass
class BuiltGold:
    duckdb: PlatformSettings
    postgres: PlatformSettings
    database: PostgresDatabase


@pytest.fixture(scope="module")
def built_gold(tmp_path_factory, postgres_database) -> Iterator[BuiltGold]:
    """A local lake of two generated days, and the gold layer built from it on both targets."""
    root = tmp_path_factory.mktemp("gold_on_postgres")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLATFORM_ENV", "local")
        env.setenv("PLATFORM_DATA_DIR", str(root))
        env.delenv("PLATFORM_LANDING_ROOT", raising=False)
        env.delenv("PLATFORM_LAKE_URI", raising=False)
        env.delenv("PLATFORM_WAREHOUSE_TARGET", raising=False)
        env.setenv("CARD_TOKEN_KEY", TEST_KEY)
        # Read by the warehouse resource (EnvVar) and by dbt's profile, never passed as config.
        env.setenv("DAGSTER_PG_PASSWORD", postgres_database.password)
        duckdb_settings = platform_settings()
        postgres_settings = dataclasses.replace(
            duckdb_settings,
            warehouse=WarehouseSettings(
                target="postgres",
                postgres_host=postgres_database.host,
                postgres_port=postgres_database.port,
                postgres_user=postgres_database.user,
                postgres_database=postgres_database.name,
            ),
        )
        generate(
            GeneratorConfig(
                out_dir=duckdb_settings.landing_root, start=FIRST_DAY, days=len(DAYS), seed=5
            )
        )
        with instance_for_test() as instance:
            lake_defs = build_definitions(duckdb_settings)
            assert (
                lake_defs.resolve_job_def("reference_lake_job")
                .execute_in_process(instance=instance)
                .success
            )
            for day in DAYS:
                job = lake_defs.resolve_job_def("daily_lake_job")
                assert job.execute_in_process(partition_key=day, instance=instance).success
            for settings in (duckdb_settings, postgres_settings):
                defs = build_definitions(settings)
                assert materialize_gold(defs, instance, DAYS[0], DAYS[-1]).success
            # Again on Postgres, one day: the silver load and the marts replace their window.
            defs = build_definitions(postgres_settings)
            assert materialize_gold(defs, instance, DAYS[1], DAYS[1]).success
            yield BuiltGold(duckdb_settings, postgres_settings, postgres_database)


def test_postgres_silver_holds_exactly_the_lake_silver_tables(built_gold):
    lake = LakeResource(root=built_gold.duckdb.lake_root)
    with built_gold.database.connect() as connection, connection.cursor() as cursor:
        for table in ("transactions", "chargebacks", "users", "merchants"):
            cursor.execute(f"select count(*) from {SILVER_SCHEMA}.{table}")
            (rows,) = cursor.fetchone()
            assert rows == lake.read(f"silver/{table}").num_rows, table


def test_marts_on_postgres_equal_the_marts_on_duckdb(built_gold):
    on_duckdb = duckdb_marts(built_gold.duckdb.warehouse.duckdb_path)
    with built_gold.database.connect() as connection:
        on_postgres = postgres_marts(connection)
    assert len(on_duckdb["fct_transactions"]) > 0
    for mart, expected in on_duckdb.items():
        pd.testing.assert_frame_equal(
            on_postgres[mart], expected, check_dtype=False, rtol=1e-9, obj=mart
        )
