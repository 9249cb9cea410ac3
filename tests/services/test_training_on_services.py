"""Training in the services profile on real servers: MLflow's backend in its own PostgreSQL
database, its artifacts (plots, model, recipe) on the S3 server next to the lake, the
registry's champion alias there too, and the reproduce command against both."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import mlflow
import pytest
from dagster import Definitions, build_resources, instance_for_test
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from fraud_generator import GeneratorConfig, generate
from platform_assets.definitions import build_definitions
from platform_assets.training.assets import MODEL_KEY, TRAINING_EXPERIMENT
from platform_assets.training.model import CHAMPION, MODEL_NAME
from platform_assets.training.reproduce import HASH_TAG
from platform_assets.training.reproduce import main as reproduce_main
from tests.services.conftest import S3_BUCKET, services_feast_profile

pytestmark = pytest.mark.services

FIRST_DAY = date(2024, 1, 1)
DAYS = [(FIRST_DAY + timedelta(days=offset)).isoformat() for offset in range(5)]
# Chargebacks come 1-30 days late: with 30% fraud (seed 7), days 1-3 have frauds known by
# day 5 on the training side and day 4 two on the evaluation side.
FRAUD_RATE = 0.3


@dataclass
class ServicesTraining:
    defs: Definitions
    resources: object
    instance: object
    model_run_id: str
    s3_server: object


@pytest.fixture(scope="module")
def services_training(tmp_path_factory, s3_server, postgres_database) -> Iterator[ServicesTraining]:
    root = tmp_path_factory.mktemp("training_services")
    with services_feast_profile(root, s3_server, postgres_database, "training") as settings:
        generate(
            GeneratorConfig(
                out_dir=settings.landing_root,
                start=FIRST_DAY,
                days=len(DAYS),
                rows_per_day=300,
                seed=7,
                fraud_rate=FRAUD_RATE,
            )
        )
        defs = build_definitions(settings)

        def run(instance, job: str, **kwargs):
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, **kwargs)
            assert result.success
            return result

        with instance_for_test() as instance, build_resources(defs.resources) as resources:
            run(instance, "reference_lake_job")
            for day in DAYS:
                run(instance, "daily_lake_job", partition_key=day)
            run(
                instance,
                "daily_features_job",
                tags={
                    ASSET_PARTITION_RANGE_START_TAG: DAYS[0],
                    ASSET_PARTITION_RANGE_END_TAG: DAYS[-1],
                },
            )
            run(instance, "feast_apply_job")
            labels = {"first_day": DAYS[0], "last_day": DAYS[3], "maturity_days": 0.0}
            result = run(
                instance,
                "training_job",
                run_config={"ops": {"training__labels": {"config": labels}}},
            )
            (materialization,) = [
                event.event_specific_data.materialization
                for event in result.get_asset_materialization_events()
                if event.event_specific_data.materialization.asset_key == MODEL_KEY
            ]
            yield ServicesTraining(
                defs,
                resources,
                instance,
                materialization.metadata["mlflow_run_id"].value,
                s3_server,
            )
            resources.feast.store().teardown()


def test_the_run_is_in_postgres_and_its_artifacts_on_s3(services_training):
    tracking = services_training.resources.tracking
    assert tracking.tracking_uri().startswith("postgresql+psycopg2://")
    client = tracking.client()
    run = client.get_run(services_training.model_run_id)
    assert (
        run.info.experiment_id == client.get_experiment_by_name(TRAINING_EXPERIMENT).experiment_id
    )
    assert run.info.artifact_uri.startswith(f"s3://{S3_BUCKET}/")
    assert {item.path for item in client.list_artifacts(run.info.run_id, "plots")} == {
        "plots/calibration.png",
        "plots/feature_importance.png",
    }
    prefix = run.info.artifact_uri.removeprefix(f"s3://{S3_BUCKET}/")
    listed = services_training.s3_server.client().list_objects_v2(Bucket=S3_BUCKET, Prefix=prefix)
    keys = {item["Key"].removeprefix(prefix + "/") for item in listed.get("Contents", [])}
    assert {"plots/calibration.png", "training_set_recipe.json"} <= keys
    assert 0.0 <= run.data.metrics["roc_auc"] <= 1.0


def test_the_registered_champion_loads_from_s3(services_training):
    tracking = services_training.resources.tracking
    client = tracking.client()
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    assert champion.run_id == services_training.model_run_id
    with tracking.fluent_api():
        model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{CHAMPION}")
    assert len(model.feature_names_in_) == 16


def test_no_secret_in_params_or_tags(services_training):
    run = services_training.resources.tracking.client().get_run(services_training.model_run_id)
    values = [*run.data.params.values(), *run.data.tags.values()]
    secret = services_training.s3_server.secret_access_key
    assert not any(secret in value for value in values)
    assert not any("postgresql" in value for value in values)


def test_reproduce_on_services(services_training, capsys):
    assert reproduce_main([services_training.model_run_id]) == 0
    tags = (
        services_training.resources.tracking.client()
        .get_run(services_training.model_run_id)
        .data.tags
    )
    assert f"rebuilt hash:  {tags[HASH_TAG]}" in capsys.readouterr().out
