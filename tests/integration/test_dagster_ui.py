"""`dagster dev` serves the asset graph, checks, sensor and schedule (asked over GraphQL)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180

QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    dependencyKeys { path }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { sensors { name } schedules { name cronSchedule } }
    }
  }
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PLATFORM_ENV": "local",
        "PLATFORM_DATA_DIR": str(root),
        "CARD_TOKEN_KEY": TEST_KEY,
    }
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    log = (root / "dagster-dev.log").open("wb")
    # Its own process group: `dagster dev` children ignore a signal sent to the parent alone.
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if graphql(port, "{ version }")["version"]:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dagster dev did not start: {(root / 'dagster-dev.log').read_text()}")
            time.sleep(1)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_ui_serves_groups_partitions_checks_sensor_and_schedule(dagster_dev):
    data = graphql(dagster_dev, QUERY)
    nodes = {"/".join(node["assetKey"]["path"]): node for node in data["assetNodes"]}
    assert {node["groupName"] for node in nodes.values()} >= {"landing", "bronze", "silver"}
    silver = nodes["silver/transactions"]
    assert silver["groupName"] == "silver" and silver["isPartitioned"]
    checks = {check["name"] for check in silver["assetChecksOrError"]["checks"]}
    assert checks == {"pandera_schema", "pandera_rows", "rows_accounted_for", "freshness_check"}
    assert nodes["bronze/transactions_quarantine"]["groupName"] == "bronze"
    assert not nodes["silver/users"]["isPartitioned"]

    repository = data["repositoriesOrError"]["nodes"][0]
    assert {s["name"] for s in repository["sensors"]} >= {
        "landing_files_sensor",
        "features_after_lake_sensor",
    }
    assert {s["name"]: s["cronSchedule"] for s in repository["schedules"]} == {
        "nightly_lake_schedule": "0 2 * * *",
        "nightly_drift_schedule": "0 7 * * *",
        "matured_performance_schedule": "0 7 * * *",
    }


def _upstream(nodes: dict, key: str) -> set[str]:
    """Every asset `key` depends on, directly or not."""
    seen, pending = set(), [key]
    while pending:
        for dependency in nodes[pending.pop()]["dependencyKeys"]:
            name = "/".join(dependency["path"])
            if name not in seen:
                seen.add(name)
                pending.append(name)
    return seen


def test_ui_shows_feature_tables_with_lineage_from_landing(dagster_dev):
    nodes = {
        "/".join(node["assetKey"]["path"]): node
        for node in graphql(dagster_dev, QUERY)["assetNodes"]
    }
    for name in ("features/user_features", "features/merchant_features"):
        assert nodes[name]["groupName"] == "features" and nodes[name]["isPartitioned"]
        checks = {check["name"] for check in nodes[name]["assetChecksOrError"]["checks"]}
        assert checks == {
            "pandera_schema",
            "point_in_time",
            "rows_accounted_for",
            "freshness_check",
        }
        assert {"landing/transactions", "bronze/transactions", "silver/transactions"} <= (
            _upstream(nodes, name)
        )
    assert "landing/chargebacks" in _upstream(nodes, "features/merchant_features")


def test_ui_shows_the_feature_store_assets_and_their_sensor(dagster_dev):
    data = graphql(dagster_dev, QUERY)
    nodes = {"/".join(node["assetKey"]["path"]): node for node in data["assetNodes"]}
    assert nodes["feature_store/registry"]["groupName"] == "feature_store"
    assert not nodes["feature_store/registry"]["isPartitioned"]
    for table in ("user_features", "merchant_features"):
        online = nodes[f"feature_store/online_{table}"]
        assert online["groupName"] == "feature_store" and online["isPartitioned"]
        assert {f"features/{table}", "feature_store/registry", "landing/transactions"} <= (
            _upstream(nodes, f"feature_store/online_{table}")
        )
    repository = data["repositoriesOrError"]["nodes"][0]
    assert "online_store_after_features_sensor" in {s["name"] for s in repository["sensors"]}


def test_ui_shows_the_training_assets_with_their_checks_and_lineage(dagster_dev):
    nodes = {
        "/".join(node["assetKey"]["path"]): node
        for node in graphql(dagster_dev, QUERY)["assetNodes"]
    }
    for name in ("training/labels", "training/training_set", "training/model"):
        assert nodes[name]["groupName"] == "training"
    checks = {c["name"] for c in nodes["training/training_set"]["assetChecksOrError"]["checks"]}
    assert {"features_not_after_row", "no_label_in_features", "one_row_per_label"} <= checks
    assert {"features/user_features", "silver/chargebacks", "feature_store/registry"} <= (
        _upstream(nodes, "training/model")
    )


def test_ui_shows_the_monitoring_assets_their_checks_and_sensors(dagster_dev):
    data = graphql(dagster_dev, QUERY)
    nodes = {"/".join(node["assetKey"]["path"]): node for node in data["assetNodes"]}
    expected_checks = {
        "monitoring/drift_report": "no_critical_drift",
        "monitoring/training_serving_skew": "online_matches_offline",
        "monitoring/model_performance": "no_significant_performance_drop",
    }
    for name, check in expected_checks.items():
        assert nodes[name]["groupName"] == "monitoring"
        assert check in {c["name"] for c in nodes[name]["assetChecksOrError"]["checks"]}
    for online in ("feature_store/online_user_features", "feature_store/online_merchant_features"):
        checks = {c["name"] for c in nodes[online]["assetChecksOrError"]["checks"]}
        assert "freshness_check" in checks
    repository = data["repositoriesOrError"]["nodes"][0]
    assert {"drift_alert_sensor", "freshness_checks_sensor"} <= {
        s["name"] for s in repository["sensors"]
    }
