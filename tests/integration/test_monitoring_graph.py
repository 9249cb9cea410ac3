"""Monitoring on the session's materialized graph. The drift report: a champion trained on
days 1-10 (as the training tests do), then the report of a day inside and a day after its
window: the Delta metrics, the check, the MLflow run with the HTML report, the reference
statistics stored once, thresholds from the run config. (The alert sensor and the retraining it
requests run on real injected drift in test_monitoring_on_drifted_lake.py.) Then skew,
performance once labels mature, and freshness."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pytest
from dagster._core.definitions.asset_checks.asset_check_factories.freshness_checks import (
    time_partition,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from mlflow.tracking import MlflowClient

from platform_assets.definitions import build_definitions
from platform_assets.environment import TrackingSettings, platform_settings
from platform_assets.features.assets import USER_FEATURES
from platform_assets.monitoring.assets import (
    CATEGORICAL_INPUTS,
    DRIFT_CHECK,
    DRIFT_EXPERIMENT,
    DRIFT_METRICS_TABLE,
    DRIFT_REFERENCE_TABLE,
    DRIFT_REPORT_KEY,
    PERFORMANCE_TABLE,
    SCORE_COLUMN,
    SKEW_CHECK,
)
from platform_assets.monitoring.drift import CRITICAL, SEVERITIES
from platform_assets.monitoring.freshness import FRESH_ASSETS
from platform_assets.monitoring.skew import latest_offline, sample_entities
from platform_assets.tables import table_path
from platform_assets.training.model import CHAMPION, MODEL_NAME
from tests.integration.test_training_graph import run_training, training_config

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def monitoring_lake(materialized_lake, tmp_path_factory):
    """The session lake, with an MLflow store of its own: the models trained here must not
    be the champion the training tests expect to promote first."""
    folder = tmp_path_factory.mktemp("mlflow_monitoring")
    settings = replace(
        platform_settings(),
        tracking=TrackingSettings(sqlite_path=folder / "mlflow.db", artifact_root=str(folder)),
    )
    return replace(materialized_lake, defs=build_definitions(settings))


DAYS = ("2024-01-11", "2024-01-05")


@pytest.fixture(scope="module")
def drift_runs(monitoring_lake):
    defs, instance = monitoring_lake.defs, monitoring_lake.instance
    assert defs.resolve_job_def("feast_apply_job").execute_in_process(instance=instance).success
    run_training(monitoring_lake, training_config())
    job = defs.resolve_job_def("drift_job")
    results = {}
    reference_versions = []
    for day in DAYS:
        results[day] = job.execute_in_process(partition_key=day, instance=instance)
        assert results[day].success
        reference_versions.append(monitoring_lake.lake.version(DRIFT_REFERENCE_TABLE))
    return results, reference_versions


def materialization(result) -> dict:
    (event,) = result.get_asset_materialization_events()
    materialized = event.event_specific_data.materialization
    assert materialized.asset_key == DRIFT_REPORT_KEY
    return {name: value.value for name, value in materialized.metadata.items()}


def check_result(result):
    (evaluation,) = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert evaluation.check_name == DRIFT_CHECK
    return evaluation


def test_metrics_table_has_every_column_once_per_day(monitoring_lake, drift_runs):
    results, _ = drift_runs
    table = monitoring_lake.lake.read(DRIFT_METRICS_TABLE).to_pandas()
    for day, result in results.items():
        rows = table[table["event_date"] == pd.Timestamp(day).date()]
        meta = materialization(result)
        assert len(rows) == meta["dagster/row_count"]
        assert rows["column"].is_unique
        assert {SCORE_COLUMN, *CATEGORICAL_INPUTS} <= set(rows["column"])
        assert set(rows["severity"]) <= set(SEVERITIES)
        numeric = rows[rows["kind"] == "numeric"]
        # a column with no value on a side (a window longer than the lake's history) has none
        compared = (numeric["reference_rows"] > 0) & (numeric["current_rows"] > 0)
        assert compared.any()
        assert numeric.loc[compared, "ks_statistic"].between(0, 1).all()
        assert numeric.loc[~compared, "ks_statistic"].isna().all()
        assert (rows.loc[rows["kind"] == "categorical", "jensen_shannon"].between(0, 1)).all()
        # the silver rows of that day were compared
        silver = monitoring_lake.truth.transactions
        expected = silver[
            (silver["expected_outcome"] == "silver")
            & (silver["partition_date"] == pd.Timestamp(day).date())
        ]["transaction_id"].nunique()
        assert meta["rows_compared"] == expected
        assert (rows["current_rows"] <= expected).all()
        assert meta["worst_severity"] == max(rows["severity"], key=SEVERITIES.index)


def test_check_fails_exactly_on_critical_drift(monitoring_lake, drift_runs):
    results, _ = drift_runs
    table = monitoring_lake.lake.read(DRIFT_METRICS_TABLE).to_pandas()
    for day, result in results.items():
        rows = table[table["event_date"] == pd.Timestamp(day).date()]
        evaluation = check_result(result)
        critical = set(rows.loc[rows["severity"] == CRITICAL, "column"])
        assert evaluation.passed == (not critical)
        assert set(evaluation.metadata["critical"].value) == critical


def test_reference_statistics_are_computed_once(monitoring_lake, drift_runs):
    results, reference_versions = drift_runs
    # the second day found the stored statistics: no new Delta version
    assert reference_versions[0] == reference_versions[1]
    stored = monitoring_lake.lake.read(DRIFT_REFERENCE_TABLE).to_pandas()
    keys = {materialization(result)["reference_key"] for result in results.values()}
    assert len(keys) == 1
    (key,) = keys
    assert pc.sum(pc.equal(monitoring_lake.lake.read(DRIFT_REFERENCE_TABLE)["reference_key"],
                           key)).as_py() == len(stored[stored["reference_key"] == key])  # fmt: skip
    assert SCORE_COLUMN in set(stored["column"])


def test_mlflow_run_holds_metrics_and_the_html_report(monitoring_lake, drift_runs, tmp_path):
    results, _ = drift_runs
    tracking = monitoring_lake.defs.resources["tracking"]
    client: MlflowClient = tracking.client()
    experiment = client.get_experiment_by_name(DRIFT_EXPERIMENT)
    for day, result in results.items():
        meta = materialization(result)
        run = client.get_run(meta["mlflow_run_id"])
        assert run.info.experiment_id == experiment.experiment_id
        assert run.data.tags["monitoring.day"] == day
        assert run.data.tags["monitoring.worst_severity"] == meta["worst_severity"]
        assert f"{SCORE_COLUMN}.ks_statistic" in run.data.metrics
        artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
        assert {"drift_report.html", "drift_metrics.csv"} <= artifacts
        local = client.download_artifacts(run.info.run_id, "drift_report.html", str(tmp_path))
        text = Path(local).read_text()
        assert text.startswith("<!DOCTYPE html>")
        # one embedded histogram overlay per flagged column, nothing loaded from elsewhere
        assert text.count('src="data:image/png;base64,') == len(meta["flagged_columns"])
        assert "http" not in text


def test_thresholds_come_from_the_run_config(monitoring_lake, drift_runs):
    """With every band at zero and the gate at 1, each column judged (enough rows on both
    sides) whose test is not exactly p=1 is critical, and the check fails on them."""
    zero = {f"{name}_{level}": 0.0 for name in ("wasserstein", "psi", "cohens_d",
            "jensen_shannon") for level in ("warning", "critical")}  # fmt: skip
    day = "2024-01-12"
    result = monitoring_lake.defs.resolve_job_def("drift_job").execute_in_process(
        partition_key=day,
        instance=monitoring_lake.instance,
        run_config={"ops": {"monitoring__drift_report": {"config": {**zero, "p_value": 1.0}}}},
    )
    assert result.success
    table = monitoring_lake.lake.read(DRIFT_METRICS_TABLE).to_pandas()
    rows = table[table["event_date"] == pd.Timestamp(day).date()]
    judged = ~rows["reason"].str.startswith("not judged") & (rows["p_value"] < 1)
    assert judged.any()
    assert set(rows.loc[rows["severity"] == CRITICAL, "column"]) == set(rows.loc[judged, "column"])
    evaluation = check_result(result)
    assert not evaluation.passed
    assert set(evaluation.metadata["critical"].value) == set(rows.loc[judged, "column"])


@pytest.fixture(scope="module")
def pushed_online(monitoring_lake):
    """Registry applied and every day pushed online in one range run."""
    defs, instance = monitoring_lake.defs, monitoring_lake.instance
    assert defs.resolve_job_def("feast_apply_job").execute_in_process(instance=instance).success
    result = defs.resolve_job_def("online_store_job").execute_in_process(
        instance=instance,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: monitoring_lake.days[0],
            ASSET_PARTITION_RANGE_END_TAG: monitoring_lake.days[-1],
        },
    )
    assert result.success
    return defs.resources["feast"]


def run_skew(monitoring_lake):
    result = monitoring_lake.defs.resolve_job_def("skew_job").execute_in_process(
        instance=monitoring_lake.instance, run_config={"ops": {}}
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
    (evaluation,) = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert evaluation.check_name == SKEW_CHECK
    return meta, evaluation


def test_skew_check_finds_no_mismatch_then_an_injected_corruption(monitoring_lake, pushed_online):
    meta, evaluation = run_skew(monitoring_lake)
    assert meta["mismatches"] == 0
    assert evaluation.passed
    assert meta["values_compared"] > 0
    assert set(meta["last_pushed_day"].values()) == {monitoring_lake.days[-1]}

    # corrupt one user's online value (same timestamps: the store takes the write)
    store = pushed_online.store()
    offline = latest_offline(
        monitoring_lake.lake.read(table_path(USER_FEATURES.key)).to_pandas(), "user_id", None
    )
    victim = sample_entities(offline.index, 500, 0)[0]  # sampled by the asset's defaults
    original = offline.loc[[victim]].reset_index()
    corrupted = original.copy()
    corrupted["user_amount_sum_24h"] = corrupted["user_amount_sum_24h"] + 12.5
    store.write_to_online_store("user_features", corrupted)
    try:
        meta, evaluation = run_skew(monitoring_lake)
        assert not evaluation.passed
        assert meta["mismatches"] == 1
        skew = meta["per_feature"]["user_features.user_amount_sum_24h"]
        assert skew["examples"] == [victim]
        assert skew["max_abs_difference"] == pytest.approx(12.5)
        assert skew["mismatch_share"] == pytest.approx(1 / skew["compared"])
    finally:
        store.write_to_online_store("user_features", original)
    meta, evaluation = run_skew(monitoring_lake)
    assert evaluation.passed


def test_performance_once_labels_mature(monitoring_lake, drift_runs):
    defs, instance = monitoring_lake.defs, monitoring_lake.instance
    job = defs.resolve_job_def("performance_job")
    day = "2024-01-10"
    # with 30 days to mature, the lake's last chargeback is too early: a clear refusal
    immature = job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False)
    assert not immature.success
    (failure,) = [e for e in immature.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "not mature" in failure.event_specific_data.error.message

    config = {"ops": {"monitoring__model_performance": {"config": {"maturity_days": 0.0}}}}
    result = job.execute_in_process(partition_key=day, instance=instance, run_config=config)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
    # labels: the generator's chargebacks of the day's silver payments
    truth = monitoring_lake.truth.transactions
    payments = set(
        truth.loc[
            (truth["expected_outcome"] == "silver")
            & (truth["partition_date"] == pd.Timestamp(day).date()),
            "transaction_id",
        ]
    )
    chargebacks = monitoring_lake.truth.chargebacks
    frauds = set(chargebacks.loc[chargebacks["reason"].str.startswith("fraud_"), "transaction_id"])
    assert meta["frauds"] == len(payments & frauds)
    assert meta["legit"] == len(payments - frauds)
    # compared with the champion's own evaluation at training
    client = defs.resources["tracking"].client()
    version = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    assert meta["champion_version"] == str(version.version)
    training = client.get_run(version.run_id).data.metrics
    assert meta["training_roc_auc"] == training["roc_auc"]
    assert 0 <= meta["roc_auc"] <= 1
    (evaluation,) = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    drop = evaluation.metadata["roc_auc_drop"].value
    assert drop == pytest.approx(training["roc_auc"] - meta["roc_auc"])
    assert evaluation.passed == (drop <= evaluation.metadata["threshold"].value)
    stored = monitoring_lake.lake.read(PERFORMANCE_TABLE).to_pandas()
    assert len(stored[stored["event_date"] == pd.Timestamp(day).date()]) == 1


def run_freshness(monitoring_lake) -> dict:
    result = monitoring_lake.defs.resolve_job_def("freshness_job").execute_in_process(
        instance=monitoring_lake.instance, raise_on_error=False
    )
    return {
        e.event_specific_data.asset_key: e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_freshness_checks(monitoring_lake, pushed_online, monkeypatch):
    # today the session's 2024 data is stale: every check fails, saying when it was updated
    stale = run_freshness(monitoring_lake)
    assert set(stale) == set(FRESH_ASSETS)
    assert not any(evaluation.passed for evaluation in stale.values())
    # the morning after the lake's last day, past the 06:00 deadline, every table is fresh
    last = pd.Timestamp(monitoring_lake.days[-1], tz="UTC")
    morning = (last + pd.Timedelta(days=1, hours=7)).timestamp()
    monkeypatch.setattr(time_partition, "get_current_timestamp", lambda: morning)
    fresh = run_freshness(monitoring_lake)
    assert set(fresh) == set(FRESH_ASSETS)
    assert all(evaluation.passed for evaluation in fresh.values()), {
        key.to_user_string(): evaluation.metadata for key, evaluation in fresh.items()
    }
