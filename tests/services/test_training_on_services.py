"""Training in the services profile on real servers: MLflow's backend in its own PostgreSQL
database, its artifacts (plots, model, recipe) on the S3 server next to the lake, the
registry's champion alias there too, and the reproduce command against both."""

import mlflow
import pytest

from platform_assets.training.assets import TRAINING_EXPERIMENT
from platform_assets.training.model import CHAMPION, MODEL_NAME
from platform_assets.training.reproduce import HASH_TAG
from platform_assets.training.reproduce import main as reproduce_main
from tests.services.conftest import S3_BUCKET

pytestmark = pytest.mark.services


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
