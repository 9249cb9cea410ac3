"""Pure helpers of the gold layer: partition windows, dbt vars, warehouse settings."""

from datetime import UTC, date, datetime

import pytest
from dagster import EnvVar, TimeWindow

from platform_assets.environment import platform_settings
from platform_assets.transform.warehouse import (
    POSTGRES_PASSWORD_ENV,
    dbt_vars,
    warehouse_resource,
    window_days,
)


def test_a_daily_window_covers_its_first_day_to_the_day_before_its_end():
    one_day = TimeWindow(datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC))
    backfill = TimeWindow(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 11, tzinfo=UTC))
    assert window_days(one_day) == (date(2024, 1, 2), date(2024, 1, 2))
    assert window_days(backfill) == (date(2024, 1, 1), date(2024, 1, 10))


def test_dbt_vars_carry_the_window_the_lake_and_the_connection():
    assert dbt_vars(date(2024, 1, 1), date(2024, 1, 3), "/lake", {"duckdb_path": "/w.duckdb"}) == {
        "min_date": "2024-01-01",
        "max_date": "2024-01-03",
        "lake_root": "/lake",
        "duckdb_path": "/w.duckdb",
    }


def test_local_profile_builds_in_a_duckdb_file_under_the_data_dir(platform_env):
    settings = platform_settings().warehouse
    assert settings.target == "duckdb"
    assert settings.duckdb_path == platform_env / "warehouse" / "fraud.duckdb"
    resource = warehouse_resource(settings)
    assert resource.connection_vars() == {"duckdb_path": str(settings.duckdb_path)}


def test_services_profile_builds_in_postgres_and_keeps_the_password_out_of_the_vars(
    platform_env, monkeypatch
):
    monkeypatch.setenv("PLATFORM_ENV", "services")
    monkeypatch.setenv("PLATFORM_WAREHOUSE_DB", "gold_db")
    monkeypatch.setenv("DAGSTER_PG_PORT", "5433")
    settings = platform_settings().warehouse
    assert (settings.target, settings.postgres_database, settings.postgres_port) == (
        "postgres",
        "gold_db",
        5433,
    )
    resource = warehouse_resource(settings)
    assert resource.postgres_password == EnvVar(POSTGRES_PASSWORD_ENV)
    assert resource.connection_vars() == {
        "postgres_host": "127.0.0.1",
        "postgres_port": 5433,
        "postgres_user": "postgres",
        "postgres_database": "gold_db",
    }


def test_an_unknown_warehouse_target_is_refused(platform_env, monkeypatch):
    monkeypatch.setenv("PLATFORM_WAREHOUSE_TARGET", "spark")
    with pytest.raises(ValueError, match="PLATFORM_WAREHOUSE_TARGET='spark'"):
        platform_settings()
