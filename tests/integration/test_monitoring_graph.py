"""The drift report on the materialized graph: a champion trained on days 1-10 (as the training
tests do), then the report of a day inside and a day after its window: the Delta metrics, the
check, the MLflow run with the HTML report, the reference statistics stored once."""

from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pytest
from mlflow.tracking import MlflowClient

from platform_assets.monitoring.assets import (
    CATEGORICAL_INPUTS,
    DRIFT_CHECK,
    DRIFT_EXPERIMENT,
    DRIFT_METRICS_TABLE,
    DRIFT_REFERENCE_TABLE,
    DRIFT_REPORT_KEY,
    SCORE_COLUMN,
)
from platform_assets.monitoring.drift import CRITICAL, SEVERITIES
from tests.integration.test_training_graph import run_training, training_config

pytestmark = pytest.mark.integration

DAYS = ("2024-01-11", "2024-01-05")


@pytest.fixture(scope="module")
def drift_runs(materialized_lake):
    defs, instance = materialized_lake.defs, materialized_lake.instance
    assert defs.resolve_job_def("feast_apply_job").execute_in_process(instance=instance).success
    run_training(materialized_lake, training_config())
    job = defs.resolve_job_def("drift_job")
    results = {}
    reference_versions = []
    for day in DAYS:
        results[day] = job.execute_in_process(partition_key=day, instance=instance)
        assert results[day].success
        reference_versions.append(materialized_lake.lake.version(DRIFT_REFERENCE_TABLE))
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


def test_metrics_table_has_every_column_once_per_day(materialized_lake, drift_runs):
    results, _ = drift_runs
    table = materialized_lake.lake.read(DRIFT_METRICS_TABLE).to_pandas()
    for day, result in results.items():
        rows = table[table["event_date"] == pd.Timestamp(day).date()]
        meta = materialization(result)
        assert len(rows) == meta["dagster/row_count"]
        assert rows["column"].is_unique
        assert {SCORE_COLUMN, *CATEGORICAL_INPUTS} <= set(rows["column"])
        assert set(rows["severity"]) <= set(SEVERITIES)
        numeric = rows[rows["kind"] == "numeric"]
        assert numeric["ks_statistic"].between(0, 1).all()
        assert (rows.loc[rows["kind"] == "categorical", "jensen_shannon"].between(0, 1)).all()
        # the silver rows of that day were compared
        silver = materialized_lake.truth.transactions
        expected = silver[
            (silver["expected_outcome"] == "silver")
            & (silver["partition_date"] == pd.Timestamp(day).date())
        ]["transaction_id"].nunique()
        assert meta["rows_compared"] == expected
        assert (rows["current_rows"] <= expected).all()
        assert meta["worst_severity"] == max(rows["severity"], key=SEVERITIES.index)


def test_check_fails_exactly_on_critical_drift(materialized_lake, drift_runs):
    results, _ = drift_runs
    table = materialized_lake.lake.read(DRIFT_METRICS_TABLE).to_pandas()
    for day, result in results.items():
        rows = table[table["event_date"] == pd.Timestamp(day).date()]
        evaluation = check_result(result)
        critical = set(rows.loc[rows["severity"] == CRITICAL, "column"])
        assert evaluation.passed == (not critical)
        assert set(evaluation.metadata["critical"].value) == critical


def test_reference_statistics_are_computed_once(materialized_lake, drift_runs):
    results, reference_versions = drift_runs
    # the second day found the stored statistics: no new Delta version
    assert reference_versions[0] == reference_versions[1]
    stored = materialized_lake.lake.read(DRIFT_REFERENCE_TABLE).to_pandas()
    keys = {materialization(result)["reference_key"] for result in results.values()}
    assert len(keys) == 1
    (key,) = keys
    assert pc.sum(pc.equal(materialized_lake.lake.read(DRIFT_REFERENCE_TABLE)["reference_key"],
                           key)).as_py() == len(stored[stored["reference_key"] == key])  # fmt: skip
    assert SCORE_COLUMN in set(stored["column"])


def test_mlflow_run_holds_metrics_and_the_html_report(materialized_lake, drift_runs, tmp_path):
    results, _ = drift_runs
    tracking = materialized_lake.defs.resources["tracking"]
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
