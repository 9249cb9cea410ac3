"""The Feast layer on the materialized graph: registry, online pushes, serving, MLflow.

Oracle: the latest row of each entity in the Delta feature tables (tests/feature_store/
online_oracle.py).
"""

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from feast.feature_view import FeatureViewState

from platform_assets.feature_store.online import PUSH_EXPERIMENT, online_key
from platform_assets.feature_store.online_stores.sqlite import BulkSqliteOnlineStore
from platform_assets.features.assets import FEATURE_TABLES, USER_FEATURES
from platform_assets.features.compute import USER_FEATURE_COLUMNS
from platform_assets.tables import table_path
from tests.feature_store.online_oracle import (
    FEATURES_OF,
    assert_serves_latest,
    latest_offline,
    online_values,
    same_values,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def feature_store(materialized_lake):
    """Registry applied, then every day pushed to the online store in one range run."""
    defs, instance = materialized_lake.defs, materialized_lake.instance
    assert defs.resolve_job_def("feast_apply_job").execute_in_process(instance=instance).success
    push_days(materialized_lake, materialized_lake.days[0], materialized_lake.days[-1])
    return defs.resources["feast"]


def push_days(lake, first: str, last: str):
    result = lake.defs.resolve_job_def("online_store_job").execute_in_process(
        instance=lake.instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
    )
    assert result.success
    return result


@pytest.mark.parametrize("table", FEATURE_TABLES, ids=lambda table: table.name)
def test_online_store_serves_the_latest_offline_values(materialized_lake, feature_store, table):
    compared = assert_serves_latest(feature_store.store(), materialized_lake.lake, table)
    assert compared > 20 * len(FEATURES_OF[table.name])


def test_re_pushing_an_old_partition_keeps_the_newer_values(materialized_lake, feature_store):
    old_day = materialized_lake.days[2]
    push_days(materialized_lake, old_day, old_day)
    for table in FEATURE_TABLES:
        assert_serves_latest(feature_store.store(), materialized_lake.lake, table)


def test_unknown_entities_read_as_missing(feature_store):
    online = online_values(feature_store.store(), USER_FEATURES, ["no-such-user"])
    assert online.loc["no-such-user"].isna().all()


def test_feature_service_with_request_time_features(materialized_lake, feature_store):
    store = feature_store.store()
    offline = latest_offline(materialized_lake.lake, USER_FEATURES)
    user = offline.index[offline["user_amount_mean_7d"].notna()][0]
    at = datetime(2024, 1, 20, 6, 0, tzinfo=UTC)
    response = store.get_online_features(
        features=store.get_feature_service("fraud_model_v2"),
        entity_rows=[
            {
                "user_id": user,
                "merchant_id": "no-such-merchant",
                "amount": 30.0,
                "transaction_time": at,
            }
        ],
    ).to_dict()
    mean = offline.at[user, "user_amount_mean_7d"]
    assert response["amount_to_user_mean_7d"][0] == pytest.approx(30.0 / mean)
    # 06:00 is a quarter of the way round the clock
    assert response["hour_sin"][0] == pytest.approx(1.0)
    assert response["hour_cos"][0] == pytest.approx(0.0, abs=1e-12)
    assert response["merchant_fraud_rate_30d"][0] is None


def test_every_push_is_an_mlflow_run_with_its_metrics(materialized_lake, feature_store):
    tracking = materialized_lake.defs.resources["tracking"]
    client = tracking.client()
    experiment = client.get_experiment_by_name(PUSH_EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id])
    pushes = [
        record
        for table in FEATURE_TABLES
        for record in materialized_lake.instance.fetch_materializations(
            online_key(table), limit=100
        ).records
    ]
    assert {run.info.run_id for run in runs} >= {
        record.asset_materialization.metadata["mlflow_run_id"].value for record in pushes
    }
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.metrics["entities_pushed"] > 0
        assert run.data.metrics["entities_per_second"] > 0
        assert "event_lag_seconds" in run.data.metrics
        assert run.data.params["feature_view"] in {table.name for table in FEATURE_TABLES}


@pytest.fixture
def feature_server(feature_store, tmp_path):
    """`feast serve` over HTTP on 127.0.0.1, on the platform's resolved configuration."""
    port = free_port()
    environment = {
        **os.environ,
        "FEATURE_STORE_YAML_BASE64": base64.b64encode(
            feature_store.feature_store_yaml().encode()
        ).decode(),
    }
    log = (tmp_path / "feast_serve.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "feast"), "serve", "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/health", timeout=2).status == 200:
                    break
            assert process.poll() is None, (tmp_path / "feast_serve.log").read_text()
            assert time.monotonic() < deadline, "feast serve did not start"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_feast_serve_answers_over_http(materialized_lake, feature_server):
    offline = latest_offline(materialized_lake.lake, USER_FEATURES).head(5)
    request = {
        "feature_service": "fraud_model_v1",
        "entities": {
            "user_id": list(offline.index),
            "merchant_id": ["no-such-merchant"] * len(offline),
        },
    }
    response = urllib.request.urlopen(
        urllib.request.Request(
            f"{feature_server}/get-online-features",
            data=json.dumps(request).encode(),
            headers={"Content-Type": "application/json"},
        ),
        timeout=30,
    )
    body = json.loads(response.read())
    names = body["metadata"]["feature_names"]
    columns = {name: result["values"] for name, result in zip(names, body["results"], strict=True)}
    assert columns["user_id"] == list(offline.index)
    for column in USER_FEATURE_COLUMNS:
        for got, want in zip(columns[column], offline[column], strict=True):
            assert (got is None and pd.isna(want)) or got == pytest.approx(want, rel=1e-12)
    assert columns["merchant_fraud_rate_30d"] == [None] * len(offline)


def test_reads_go_on_while_a_view_is_materializing(feature_store):
    """What a push does to the registry first: another reader keeps being served."""
    pushing = feature_store.store()
    view = pushing.get_feature_view(USER_FEATURES.name)
    previous = view.state
    view.state = FeatureViewState.MATERIALIZING
    pushing.registry.apply_feature_view(view, pushing.project, commit=True)
    try:
        reader = feature_store.store()
        assert reader.get_feature_view(USER_FEATURES.name).state == FeatureViewState.MATERIALIZING
        online = online_values(reader, USER_FEATURES, ["no-such-user"])
        assert online.loc["no-such-user"].isna().all()
    finally:
        view.state = previous
        pushing.registry.apply_feature_view(view, pushing.project, commit=True)


def test_a_push_that_crashes_half_way_leaves_old_or_new_values_and_a_retry_completes_it(
    materialized_lake, feature_store, monkeypatch
):
    """Days 0-9 online, then the push of days 10-11 dies after writing half of its rows."""
    days = materialized_lake.days
    store = feature_store.store()
    store.teardown()
    assert (
        materialized_lake.defs.resolve_job_def("feast_apply_job")
        .execute_in_process(instance=materialized_lake.instance)
        .success
    )
    push_days(materialized_lake, days[0], days[9])

    write = BulkSqliteOnlineStore.online_write_arrow

    def write_half_then_die(self, config, view, rows):
        write(self, config, view, rows.slice(0, rows.num_rows // 2))
        raise ConnectionError("the machine went away")

    monkeypatch.setattr(BulkSqliteOnlineStore, "online_write_arrow", write_half_then_die)
    crashed = materialized_lake.defs.resolve_job_def("online_store_job").execute_in_process(
        instance=materialized_lake.instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: days[10], ASSET_PARTITION_RANGE_END_TAG: days[11]},
        raise_on_error=False,
    )
    assert not crashed.success
    monkeypatch.undo()

    for table in FEATURE_TABLES:
        before = latest_offline(materialized_lake.lake, table, date.fromisoformat(days[9]))
        after = latest_offline(materialized_lake.lake, table)
        online = online_values(feature_store.store(), table, list(after.index))
        columns = FEATURES_OF[table.name]
        # entities whose old row is known: untied up to day 9; or never seen before day 10,
        # whose old state is "missing"
        seen = materialized_lake.lake.read(
            table_path(table.key),
            filters=pc.field("event_date") <= date.fromisoformat(days[9]),
            columns=[table.entity],
        )[table.entity]
        judged = after.index.intersection(before.index).union(
            after.index.difference(pc.unique(seen).to_pylist())
        )
        new = {e for e in judged if same_values(online.loc[e], after.loc[e], columns)}
        old = {
            e
            for e in judged
            if (
                same_values(online.loc[e], before.loc[e], columns)
                if e in before.index
                else online.loc[e, list(columns)].isna().all()
            )
        }
        assert new | old == set(judged), "every entity shows its old or its new row"
        assert new - old, "the crashed push wrote some rows"

    push_days(materialized_lake, days[10], days[11])
    for table in FEATURE_TABLES:
        assert_serves_latest(feature_store.store(), materialized_lake.lake, table)
