"""The training group on the materialized graph: labels as known at a cutoff against the
generator's chargebacks, the training set against the brute-force point-in-time join of the
real feature tables, the model in MLflow (run, plots, registry, champion), the example
script and the reproduce command.

The session's lake has 12 days with 1% fraud, and chargebacks arrive 1-30 days late, so
only a handful of labels are known by its last day: the windows here end on day 10 and
the labels count as mature at once (`maturity_days: 0`), which leaves frauds on both sides
of the time split. How well the model ranks is the demo's business, not this test's.
"""

import importlib.util
import json
import random
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from dagster import AssetKey

from platform_assets.environment import REPO_ROOT
from platform_assets.training.assets import (
    LABELS_KEY,
    LABELS_TABLE,
    MODEL_KEY,
    TRAINING_EXPERIMENT,
    TRAINING_SET_KEY,
    TRAINING_SET_TABLE,
)
from platform_assets.training.labels import ENTITY_COLUMNS, FRAUD, LEGIT, REPORTED_AFTER_CUTOFF
from platform_assets.training.model import CHAMPION, MODEL_NAME
from platform_assets.training.reproduce import HASH_TAG
from platform_assets.training.reproduce import main as reproduce_main
from platform_assets.training.training_set import (
    LEADING_COLUMNS,
    canonical,
    content_hash,
    feature_types,
    historical_features,
)
from tests.training.point_in_time_oracle import mismatches
from tests.training.synthetic_features import entity_frame

pytestmark = pytest.mark.integration

FIRST, LAST = "2024-01-01", "2024-01-10"


def training_config(**labels) -> dict:
    label_config = {"first_day": FIRST, "last_day": LAST, "maturity_days": 0.0, **labels}
    return {
        "ops": {
            "training__labels": {"config": label_config},
            "training__model": {"config": {"evaluation_days": 2}},
        }
    }


def run_training(lake, run_config):
    result = lake.defs.resolve_job_def("training_job").execute_in_process(
        instance=lake.instance, run_config=run_config, raise_on_error=False
    )
    assert result.success, [event.message for event in result.all_events if event.is_failure]
    return result


def metadata(result, key: AssetKey) -> dict:
    (event,) = [
        event.event_specific_data.materialization
        for event in result.get_asset_materialization_events()
        if event.event_specific_data.materialization.asset_key == key
    ]
    return {name: value.value for name, value in event.metadata.items()}


@pytest.fixture(scope="module")
def trained(materialized_lake):
    defs, instance = materialized_lake.defs, materialized_lake.instance
    assert defs.resolve_job_def("feast_apply_job").execute_in_process(instance=instance).success
    return run_training(materialized_lake, training_config())


def truth_frame(materialized_lake) -> pd.DataFrame:
    truth = materialized_lake.truth.transactions
    silver = truth[truth["expected_outcome"] == "silver"].drop_duplicates("transaction_id")
    return silver.set_index("transaction_id")


def test_labels_are_the_chargebacks_known_at_the_cutoff(materialized_lake, trained):
    labels_meta = metadata(trained, LABELS_KEY)
    labels = materialized_lake.lake.open(LABELS_TABLE).to_pandas().set_index("transaction_id")
    chargebacks = materialized_lake.truth.chargebacks.set_index("transaction_id")
    assert labels_meta["label_cutoff"] == chargebacks["reported_at"].max().isoformat()
    truth = truth_frame(materialized_lake)
    in_window = truth[
        (truth["partition_date"] >= pd.Timestamp(FIRST).date())
        & (truth["partition_date"] <= pd.Timestamp(LAST).date())
    ]
    assert set(labels.index) == set(in_window.index)
    frauds = set(chargebacks.index[chargebacks["reason"].str.startswith("fraud_")])
    assert set(labels.index[labels["label_status"] == FRAUD]) == frauds & set(labels.index)
    assert (labels.loc[labels["label_status"] == FRAUD, "label"] == 1).all()
    assert (labels.loc[labels["label_status"] == LEGIT, "label"] == 0).all()
    # every labelled fraud is a fraud of the generator
    assert in_window.loc[list(frauds & set(labels.index)), "is_fraud"].all()


def test_a_chargeback_after_the_cutoff_is_unknown_not_legit(materialized_lake, trained):
    chargebacks = materialized_lake.truth.chargebacks.sort_values("reported_at")
    cutoff = chargebacks["reported_at"].iloc[len(chargebacks) // 2]
    result = materialized_lake.defs.resolve_job_def("training_job").execute_in_process(
        instance=materialized_lake.instance,
        run_config=training_config(label_cutoff=cutoff.isoformat()),
        asset_selection=[LABELS_KEY],
    )
    assert result.success
    labels = materialized_lake.lake.open(LABELS_TABLE).to_pandas().set_index("transaction_id")
    later = set(chargebacks.loc[chargebacks["reported_at"] > cutoff, "transaction_id"])
    later = labels.loc[sorted(later & set(labels.index))]
    # never legit, never fraud; a payment after the cutoff itself is immature at it
    assert later["label"].isna().all()
    mature = later[later["event_timestamp"] <= cutoff]
    assert len(mature) > 0
    assert (mature["label_status"] == REPORTED_AFTER_CUTOFF).all()
    counts = metadata(result, LABELS_KEY)["label_status_counts"]
    assert counts[REPORTED_AFTER_CUTOFF] == len(mature)


def test_training_set_is_the_brute_force_join_of_the_feature_tables(materialized_lake, trained):
    meta = metadata(trained, TRAINING_SET_KEY)
    recipe = meta["recipe"]
    stored = materialized_lake.lake.open(TRAINING_SET_TABLE, meta["delta_version"])
    rows = stored.to_pyarrow_dataset().to_table().sort_by("transaction_id")
    assert content_hash(rows) == meta["content_hash"]
    tables = {
        view: materialized_lake.lake.open(f"features/{view}", version)
        .to_pyarrow_dataset()
        .to_table()
        for view, version in (
            (uri.rsplit("/", 1)[-1], version) for uri, version in recipe["feature_versions"].items()
        )
    }
    entity_rows = rows.select(list(ENTITY_COLUMNS)).to_pylist()
    assert rows.num_rows > 1000
    assert mismatches(entity_rows, tables, rows.to_pylist()) == []


def test_random_entity_frames_on_the_real_tables(materialized_lake, trained):
    """Entity rows at and around the real feature rows, in two time zones."""
    feast = materialized_lake.defs.resources["feast"]
    store = feast.store()
    service = store.get_feature_service("fraud_model_v2")
    tables = {
        view: materialized_lake.lake.open(f"features/{view}").to_pyarrow_dataset().to_table()
        for view in ("user_features", "merchant_features")
    }
    rng = random.Random(12)
    users = tables["user_features"].to_pylist()
    merchants = tables["merchant_features"]["merchant_id"].to_pylist()
    rows = []
    for number in range(300):
        anchor = rng.choice(users)
        at = anchor["event_timestamp"] + rng.choice(
            [
                timedelta(0),
                timedelta(microseconds=1),
                -timedelta(microseconds=1),
                timedelta(days=7),
                timedelta(days=7, microseconds=1),
                -timedelta(days=30),
                timedelta(hours=rng.randrange(-48, 48)),
            ]
        )
        rows.append(
            {
                "transaction_id": f"probe-{number:04d}",
                "user_id": anchor["user_id"],
                "merchant_id": rng.choice(merchants),
                "event_timestamp": at,
                "amount": round(rng.uniform(1, 500), 2),
                "transaction_time": at,
            }
        )
    for zone in ("UTC", "Etc/GMT-2"):
        joined = historical_features(store, entity_frame(rows, zone), service, {})
        assert mismatches(rows, tables, joined.to_pylist()) == []


def test_training_set_checks_pass(trained):
    checks = {
        (evaluation.asset_key, evaluation.check_name): evaluation.passed
        for evaluation in trained.get_asset_check_evaluations()
    }
    assert checks[(TRAINING_SET_KEY, "features_not_after_row")]
    assert checks[(TRAINING_SET_KEY, "no_label_in_features")]
    assert checks[(TRAINING_SET_KEY, "one_row_per_label")]
    assert checks[(LABELS_KEY, "labels_known_at_cutoff")]
    assert checks[(LABELS_KEY, "pandera_schema")]


def test_the_model_run_in_mlflow(materialized_lake, trained, tmp_path):
    meta = metadata(trained, MODEL_KEY)
    tracking = materialized_lake.defs.resources["tracking"]
    client = tracking.client()
    run = client.get_run(meta["mlflow_run_id"])
    assert (
        run.info.experiment_id == client.get_experiment_by_name(TRAINING_EXPERIMENT).experiment_id
    )
    assert 0.0 <= run.data.metrics["roc_auc"] <= 1.0
    for metric in ("pr_auc", "precision_at_alert_rate", "recall_at_alert_rate"):
        assert metric in run.data.metrics
    set_meta = metadata(trained, TRAINING_SET_KEY)
    tags = run.data.tags
    assert tags["training_set.delta_version"] == str(set_meta["delta_version"])
    assert tags[HASH_TAG] == set_meta["content_hash"]
    assert tags["feast.registry_hash"] == set_meta["registry_hash"]
    assert tags["feast.feature_service"] == "fraud_model_v2"
    assert tags["dagster.run_id"] == trained.run_id
    assert tags["dagster.partition_range"] == f"{FIRST}..{LAST}"
    artifacts = {item.path for item in client.list_artifacts(run.info.run_id, "plots")}
    assert artifacts == {"plots/calibration.png", "plots/feature_importance.png"}
    recipe = client.download_artifacts(run.info.run_id, "training_set_recipe.json", str(tmp_path))
    assert json.loads(Path(recipe).read_text()) == set_meta["recipe"]
    version = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    assert version.run_id == run.info.run_id
    assert meta["champion_decision"] == "promoted"
    assert version.tags[HASH_TAG] == set_meta["content_hash"]
    assert version.tags["champion.decision"] == "promoted"


def test_the_same_model_again_keeps_the_champion(materialized_lake, trained):
    again = run_training(materialized_lake, training_config())
    client = materialized_lake.defs.resources["tracking"].client()
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    assert champion.run_id == metadata(trained, MODEL_KEY)["mlflow_run_id"]
    meta = metadata(again, MODEL_KEY)
    assert meta["champion_decision"] == "kept"
    run = client.get_run(meta["mlflow_run_id"])
    assert run.data.tags["champion.decision"] == "kept"
    assert float(run.data.tags["champion.previous_pr_auc"]) == pytest.approx(meta["pr_auc"])


def test_reproduce_command_rebuilds_the_logged_hash(materialized_lake, trained, capsys):
    run_id = metadata(trained, MODEL_KEY)["mlflow_run_id"]
    assert reproduce_main([run_id]) == 0
    printed = capsys.readouterr().out
    logged = metadata(trained, TRAINING_SET_KEY)["content_hash"]
    assert f"logged hash:   {logged}" in printed
    assert f"rebuilt hash:  {logged}" in printed


def test_reproduce_command_fails_on_a_different_hash(materialized_lake, trained, capsys):
    again = run_training(materialized_lake, training_config())
    run_id = metadata(again, MODEL_KEY)["mlflow_run_id"]
    client = materialized_lake.defs.resources["tracking"].client()
    client.set_tag(run_id, HASH_TAG, "0" * 64)
    assert reproduce_main([run_id]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_example_script_builds_the_same_training_set(materialized_lake, trained, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "train_fraud_model", REPO_ROOT / "examples" / "train_fraud_model.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    feast = materialized_lake.defs.resources["feast"]
    yaml = tmp_path / "feature_store.yaml"
    yaml.write_text(feast.feature_store_yaml())
    set_meta = metadata(trained, TRAINING_SET_KEY)
    result = example.main(
        [
            "--lake",
            materialized_lake.lake.root,
            "--feature-store-yaml",
            str(yaml),
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}",
            "--artifacts",
            str(tmp_path / "artifacts"),
            "--first-day",
            FIRST,
            "--last-day",
            LAST,
            "--label-cutoff",
            set_meta["recipe"]["label_window"]["label_cutoff"],
            "--maturity-days",
            "0",
            "--evaluation-days",
            "2",
        ]
    )
    store = feast.store()
    service = store.get_feature_service("fraud_model_v2")
    rebuilt = canonical(
        pa.Table.from_pandas(result["training_df"], preserve_index=False),
        LEADING_COLUMNS,
        feature_types(store, service),
    )
    assert content_hash(rebuilt) == set_meta["content_hash"]
    assert 0.0 <= result["metrics"]["roc_auc"] <= 1.0
