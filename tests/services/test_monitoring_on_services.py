"""Monitoring in the services profile on real servers: the drift report's Delta metrics on S3
and its MLflow run in PostgreSQL with the HTML report on S3, training-serving skew against
the Redis online store, and model performance once labels mature, all on the champion the
shared services fixture trains (days 1-4 of five generated days)."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow.compute as pc
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from sklearn.metrics import roc_auc_score

from platform_assets.features.assets import USER_FEATURES, FeatureTable
from platform_assets.monitoring.assets import (
    CATEGORICAL_INPUTS,
    DRIFT_EXPERIMENT,
    DRIFT_METRICS_TABLE,
    PERFORMANCE_TABLE,
    SCORE_COLUMN,
    SkewConfig,
)
from platform_assets.monitoring.drift import CRITICAL
from platform_assets.monitoring.skew import sample_entities
from platform_assets.training.model import CHAMPION, MODEL_NAME
from tests.feature_store.online_oracle import latest_offline
from tests.integration.test_monitoring_graph import check_result, materialization, run_skew
from tests.services.conftest import (
    S3_BUCKET,
    TRAINING_DAYS,
    TRAINING_LABELS,
    ServicesTraining,
)

pytestmark = pytest.mark.services

DRIFT_DAY = TRAINING_DAYS[4]
"""The day after the champion's training window."""
PERFORMANCE_DAY = TRAINING_DAYS[3]
"""The champion's evaluation day: its frauds are reported by day 5, the lake's last
chargeback, so with the training's maturity (0 days) its labels have matured."""
CORRUPTION = 12.5
"""Added to one user's `user_amount_sum_24h` on Redis (as the local skew test does)."""


@dataclass
class Monitored:
    platform: ServicesTraining
    drift: object
    performance: object


@pytest.fixture(scope="module")
def monitored(services_training: ServicesTraining) -> Monitored:
    """Every day pushed to Redis, the drift report of the day after the training window and
    the performance of the champion's evaluation day."""
    services_training.run(
        "online_store_job",
        tags={
            ASSET_PARTITION_RANGE_START_TAG: TRAINING_DAYS[0],
            ASSET_PARTITION_RANGE_END_TAG: TRAINING_DAYS[-1],
        },
    )
    drift = services_training.run("drift_job", partition_key=DRIFT_DAY)
    maturity = {"maturity_days": TRAINING_LABELS["maturity_days"]}
    performance = services_training.run(
        "performance_job",
        partition_key=PERFORMANCE_DAY,
        run_config={"ops": {"monitoring__model_performance": {"config": maturity}}},
    )
    return Monitored(services_training, drift, performance)


def champion_model(platform: ServicesTraining):
    with platform.resources.tracking.fluent_api():
        return mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{CHAMPION}")


def s3_keys(platform: ServicesTraining, uri: str) -> set[str]:
    """The object keys under an `s3://<bucket>/<prefix>` uri, relative to the prefix."""
    prefix = uri.removeprefix(f"s3://{S3_BUCKET}/").rstrip("/") + "/"
    pages = (
        platform.s3_server.client()
        .get_paginator("list_objects_v2")
        .paginate(Bucket=S3_BUCKET, Prefix=prefix)
    )
    return {item["Key"].removeprefix(prefix) for page in pages for item in page.get("Contents", [])}


def silver_payments(platform: ServicesTraining, day: str) -> pd.DataFrame:
    """The generator's clean payments of `day` (one row per transaction)."""
    truth = platform.truth.transactions
    rows = truth[
        (truth["expected_outcome"] == "silver")
        & (truth["partition_date"] == date.fromisoformat(day))
    ]
    return rows.drop_duplicates("transaction_id")


def test_drift_metrics_on_s3_hold_every_monitored_column_once(monitored):
    platform = monitored.platform
    lake = platform.resources.lake
    uri = lake.table_uri(DRIFT_METRICS_TABLE)
    assert uri.startswith(f"s3://{S3_BUCKET}/")
    assert any(key.startswith("_delta_log/") for key in s3_keys(platform, uri))
    rows = lake.read(
        DRIFT_METRICS_TABLE, filters=pc.field("event_date") == date.fromisoformat(DRIFT_DAY)
    ).to_pandas()
    monitored_columns = [
        *champion_model(platform).feature_names_in_,
        SCORE_COLUMN,
        *CATEGORICAL_INPUTS,
    ]
    assert sorted(rows["column"]) == sorted(monitored_columns)
    meta = materialization(monitored.drift)
    assert meta["rows_compared"] == len(silver_payments(platform, DRIFT_DAY))
    assert meta["table_uri"] == uri
    critical = set(rows.loc[rows["severity"] == CRITICAL, "column"])
    assert check_result(monitored.drift).passed == (not critical)


def test_drift_run_in_postgres_has_the_html_report_on_s3(monitored, tmp_path):
    tracking = monitored.platform.resources.tracking
    assert tracking.tracking_uri().startswith("postgresql+psycopg2://")
    client = tracking.client()
    run = client.get_run(materialization(monitored.drift)["mlflow_run_id"])
    assert run.info.experiment_id == client.get_experiment_by_name(DRIFT_EXPERIMENT).experiment_id
    assert run.data.tags["monitoring.day"] == DRIFT_DAY
    assert run.info.artifact_uri.startswith(f"s3://{S3_BUCKET}/")
    assert {"drift_report.html", "drift_metrics.csv"} <= s3_keys(
        monitored.platform, run.info.artifact_uri
    )
    report = client.download_artifacts(run.info.run_id, "drift_report.html", str(tmp_path))
    assert Path(report).read_text().startswith("<!DOCTYPE html>")


@contextmanager
def corrupted_online_value(store, table: FeatureTable, latest: pd.DataFrame, feature: str):
    """`latest` (one entity's latest offline row, indexed by the entity) written online with
    CORRUPTION added to `feature`, at the same timestamps so the store takes the write;
    restored afterwards."""
    original = latest.reset_index()
    store.write_to_online_store(
        table.name, original.assign(**{feature: original[feature] + CORRUPTION})
    )
    try:
        yield
    finally:
        store.write_to_online_store(table.name, original)


def test_skew_against_redis_finds_nothing_then_one_corrupted_value(monitored):
    platform = monitored.platform
    store = platform.resources.feast.store()
    assert "redis" in store.config.online_store.type.lower()
    meta, evaluation = run_skew(platform)
    assert meta["mismatches"] == 0 and evaluation.passed
    assert meta["values_compared"] > 0
    assert set(meta["last_pushed_day"].values()) == {TRAINING_DAYS[-1]}

    # a user the asset samples with its default config
    offline = latest_offline(platform.resources.lake, USER_FEATURES)
    defaults = SkewConfig()
    user = sample_entities(offline.index, defaults.sample_size, defaults.seed)[0]
    feature = "user_amount_sum_24h"
    with corrupted_online_value(store, USER_FEATURES, offline.loc[[user]], feature):
        meta, evaluation = run_skew(platform)
    assert not evaluation.passed
    assert meta["mismatches"] == 1
    skew = meta["per_feature"][f"{USER_FEATURES.name}.{feature}"]
    assert skew["examples"] == [user]
    assert skew["max_abs_difference"] == pytest.approx(CORRUPTION)


def test_performance_row_on_s3_has_the_roc_auc_of_the_matured_labels(monitored):
    """The stored ROC-AUC equals sklearn's on the generator's labels and the champion's
    scores of features fetched through the Feast SDK."""
    platform = monitored.platform
    lake = platform.resources.lake
    assert lake.table_uri(PERFORMANCE_TABLE).startswith(f"s3://{S3_BUCKET}/")
    (row,) = (
        lake.read(
            PERFORMANCE_TABLE, filters=pc.field("event_date") == date.fromisoformat(PERFORMANCE_DAY)
        )
        .to_pandas()
        .to_dict("records")
    )

    payments = silver_payments(platform, PERFORMANCE_DAY)
    chargebacks = platform.truth.chargebacks
    frauds = set(chargebacks.loc[chargebacks["reason"].str.startswith("fraud_"), "transaction_id"])
    labels = payments["transaction_id"].isin(frauds).astype(int)
    assert (row["frauds"], row["legit"]) == (labels.sum(), (labels == 0).sum())

    store = platform.resources.feast.store()
    champion = platform.resources.tracking.client().get_model_version_by_alias(MODEL_NAME, CHAMPION)
    service = store.get_feature_service(champion.tags["feast.feature_service"])
    entities = pd.DataFrame(
        {
            "transaction_id": payments["transaction_id"],
            "user_id": payments["user_id"],
            "merchant_id": payments["merchant_id"],
            "event_timestamp": payments["event_time_utc"],
            "amount": payments["amount"],
            "transaction_time": payments["event_time_utc"],
        }
    )
    features = store.get_historical_features(entity_df=entities, features=service).to_df()
    features = features.set_index("transaction_id").loc[payments["transaction_id"]]
    model = champion_model(platform)
    scores = model.predict_proba(features[model.feature_names_in_].astype("float64"))[:, 1]
    assert row["roc_auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert row["champion_version"] == str(champion.version)
