"""Where Feast and MLflow keep their state in each profile; windows of an online push."""

from datetime import UTC, date, datetime

import pytest
from dagster import EnvVar

from platform_assets.environment import platform_settings
from platform_assets.feature_store.online import PushWindow
from platform_assets.feature_store.repo import feast_resource
from platform_assets.postgres import POSTGRES_PASSWORD_ENV
from platform_assets.tracking import tracking_resource


def test_local_profile_keeps_feast_and_mlflow_under_the_data_dir(platform_env):
    settings = platform_settings()
    config = feast_resource(settings).repo_config()
    assert config.registry.path == str(platform_env / "feast" / "registry.db")
    assert config.online_store.path == str(platform_env / "feast" / "online_store.db")
    assert config.registry.serve_features_while_materializing
    tracking = tracking_resource(settings)
    assert tracking.tracking_uri() == f"sqlite:///{platform_env / 'mlflow' / 'mlflow.db'}"


def test_services_profile_uses_postgres_and_redis_and_reads_the_password_from_env(
    platform_env, monkeypatch
):
    monkeypatch.setenv("PLATFORM_ENV", "services")
    monkeypatch.setenv("PLATFORM_LAKE_URI", "s3://bucket/prefix/lake")
    monkeypatch.setenv("PLATFORM_FEAST_DB", "registry_db")
    monkeypatch.setenv("PLATFORM_REDIS", "127.0.0.1:6380")
    monkeypatch.setenv("PLATFORM_FEAST_PROJECT", "fraud_test")
    monkeypatch.setenv("DAGSTER_PG_PORT", "5433")
    settings = platform_settings()

    feast = feast_resource(settings)
    assert feast.registry_database.password == EnvVar(POSTGRES_PASSWORD_ENV)
    database = feast.registry_database.model_copy(update={"password": "s3cret"})
    config = feast.model_copy(update={"registry_database": database}).repo_config()
    assert config.project == "fraud_test"
    assert config.registry.registry_type == "sql"
    assert config.registry.path == (
        "postgresql+psycopg2://postgres:s3cret@127.0.0.1:5433/registry_db"
    )
    assert config.registry.serve_features_while_materializing
    assert config.online_store.connection_string == "127.0.0.1:6380"

    tracking = tracking_resource(settings)
    assert tracking.backend.password == EnvVar(POSTGRES_PASSWORD_ENV)
    assert tracking.backend.database == "mlflow"
    assert tracking.artifact_root == "s3://bucket/prefix/mlflow"


@pytest.mark.parametrize(
    ("overlap_hours", "start"),
    [(0, datetime(2024, 1, 2, tzinfo=UTC)), (6, datetime(2024, 1, 1, 18, tzinfo=UTC))],
)
def test_a_push_covers_its_days_and_the_overlap_before_them(overlap_hours, start):
    window = PushWindow.of_days(date(2024, 1, 2), date(2024, 1, 3), overlap_hours)
    assert window.start == start
    # Feast keeps rows up to and including `end`: the last microsecond of the last day
    assert window.end == datetime(2024, 1, 3, 23, 59, 59, 999999, tzinfo=UTC)


def test_mlflow_runs_hold_params_metrics_and_tags(platform_env):
    tracking = tracking_resource(platform_settings())
    run_id = tracking.log_run(
        "unit", "one push", {"feature_view": "v"}, {"seconds": 1.5}, {"dagster_run_id": "r"}
    )
    run = tracking.client().get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"feature_view": "v"}
    assert run.data.metrics == {"seconds": 1.5}
    assert run.data.tags["dagster_run_id"] == "r"
    assert run.info.artifact_uri.startswith((platform_env / "mlflow" / "unit").as_uri())
