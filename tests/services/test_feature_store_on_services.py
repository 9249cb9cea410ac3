"""The Feast layer of the services profile on real servers: feature tables on S3, the SQL
registry in PostgreSQL, the online store on Redis, MLflow runs in PostgreSQL."""

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from dagster import build_resources, instance_for_test
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from fraud_generator import GeneratorConfig, generate
from platform_assets.definitions import build_definitions
from platform_assets.feature_store.online import PUSH_EXPERIMENT
from platform_assets.features.assets import FEATURE_TABLES
from tests.feature_store.online_oracle import assert_serves_latest
from tests.services.conftest import ServicesPlatform, services_feast_profile

pytestmark = pytest.mark.services

FIRST_DAY = date(2024, 1, 1)
DAYS = [(FIRST_DAY + timedelta(days=offset)).isoformat() for offset in range(3)]


class ServicesFeatureStore(ServicesPlatform):
    def push(self, first: str, last: str):
        tags = {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
        return self.run("online_store_job", tags=tags)


@pytest.fixture(scope="module")
def services_store(
    tmp_path_factory, s3_server, postgres_database
) -> Iterator[ServicesFeatureStore]:
    root = tmp_path_factory.mktemp("feast_services")
    with services_feast_profile(root, s3_server, postgres_database, "fs") as settings:
        generate(
            GeneratorConfig(
                out_dir=settings.landing_root, start=FIRST_DAY, days=len(DAYS), rows_per_day=300
            )
        )
        defs = build_definitions(settings)
        with instance_for_test() as instance, build_resources(defs.resources) as resources:
            store = ServicesFeatureStore(defs, resources, instance)
            store.materialize_features(DAYS)
            store.push(DAYS[0], DAYS[-1])
            yield store
            resources.feast.store().teardown()


def test_the_profile_uses_redis_and_the_sql_registry(services_store):
    config = services_store.resources.feast.store().config
    assert config.online_store.type.endswith("redis") or "Redis" in config.online_store.type
    assert config.registry.registry_type == "sql"


@pytest.mark.parametrize("table", FEATURE_TABLES, ids=lambda table: table.name)
def test_redis_serves_the_latest_values_of_the_s3_tables(services_store, table):
    resources = services_store.resources
    assert assert_serves_latest(resources.feast.store(), resources.lake, table) > 0


def test_an_old_partition_pushed_again_leaves_newer_values_on_redis(services_store):
    services_store.push(DAYS[0], DAYS[0])
    resources = services_store.resources
    for table in FEATURE_TABLES:
        assert_serves_latest(resources.feast.store(), resources.lake, table)


def test_pushes_are_mlflow_runs_in_postgres(services_store):
    tracking = services_store.resources.tracking
    assert tracking.tracking_uri().startswith("postgresql+psycopg2://")
    client = tracking.client()
    runs = client.search_runs([client.get_experiment_by_name(PUSH_EXPERIMENT).experiment_id])
    assert {run.data.params["feature_view"] for run in runs} == {t.name for t in FEATURE_TABLES}
    assert all(run.data.metrics["entities_pushed"] > 0 for run in runs)
