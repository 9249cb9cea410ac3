"""The gold layer (dbt on DuckDB) over the session's materialized days, checked against a
pandas recomputation from the silver Delta tables."""

import threading
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from dagster import DagsterEventType, instance_for_test

from platform_assets.environment import REPO_ROOT, platform_settings
from platform_assets.transform.assets import WAREHOUSE_POOL, gold_dbt_assets
from tests.transform.gold_marts import comparable, duckdb_marts, materialize_gold

pytestmark = pytest.mark.integration

GOLD_MODELS = 9  # 4 staging + 1 intermediate + 4 marts
POOL_WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def gold(materialized_lake):
    """All three days in one run, as a single-run backfill would build them."""
    result = materialize_gold(
        materialized_lake.defs,
        materialized_lake.instance,
        materialized_lake.days[0],
        materialized_lake.days[-1],
    )
    assert result.success
    return result


@pytest.fixture(scope="module")
def marts(gold, materialized_lake) -> dict[str, pd.DataFrame]:
    return duckdb_marts(warehouse_path())


def warehouse_path():
    # The session fixture's environment stays set while its tests run.
    return platform_settings().warehouse.duckdb_path


@pytest.fixture(scope="module")
def silver(materialized_lake) -> dict[str, pd.DataFrame]:
    return {
        name: materialized_lake.lake.read(f"silver/{name}").to_pandas()
        for name in ("transactions", "chargebacks", "users", "merchants")
    }


def haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def enriched(silver) -> pd.DataFrame:
    frame = silver["transactions"].merge(silver["users"], on="user_id", how="left")
    frame = frame.merge(
        silver["merchants"].rename(columns={"merchant_category": "merchant_registered_category"}),
        on="merchant_id",
        how="left",
    )
    frame["distance_from_home_km"] = haversine_km(
        frame["home_lat"], frame["home_lon"], frame["location_lat"], frame["location_lon"]
    )
    frame["is_cross_border"] = frame["home_country"] != frame["merchant_country"]
    return frame


def test_every_silver_transaction_is_in_fct_transactions_once_on_its_day(
    marts, silver, materialized_lake
):
    fct = marts["fct_transactions"]
    assert fct["transaction_id"].is_unique
    assert sorted(fct["transaction_id"]) == sorted(silver["transactions"]["transaction_id"])
    expected_per_day = silver["transactions"]["event_date"].astype(str).value_counts()
    assert sorted(expected_per_day.index) == materialized_lake.days
    assert fct["event_date"].value_counts().sort_index().equals(expected_per_day.sort_index())


def test_fct_transactions_carries_the_user_and_merchant_of_each_transaction(marts, enriched):
    columns = [
        "transaction_id",
        "user_id",
        "merchant_id",
        "amount",
        "home_country",
        "risk_segment",
        "merchant_name",
        "merchant_country",
        "distance_from_home_km",
        "is_cross_border",
    ]
    expected = comparable(enriched[columns], ["transaction_id"])
    actual = marts["fct_transactions"][columns]
    assert expected["merchant_name"].notna().all() and expected["home_country"].notna().all()
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9)


def test_user_daily_stats_match_a_recomputation(marts, enriched):
    expected = (
        enriched.assign(
            event_date=enriched["event_date"].astype(str),
            online=enriched["payment_method"] == "online",
        )
        .groupby(["user_id", "event_date"])
        .agg(
            transactions=("transaction_id", "size"),
            total_amount=("amount", "sum"),
            max_amount=("amount", "max"),
            distinct_merchants=("merchant_id", "nunique"),
            distinct_devices=("device_id", "nunique"),
            online_transactions=("online", "sum"),
            cross_border_transactions=("is_cross_border", "sum"),
            max_distance_from_home_km=("distance_from_home_km", "max"),
        )
        .reset_index()
    )
    actual = marts["user_daily_stats"][list(expected.columns)]
    pd.testing.assert_frame_equal(
        actual, comparable(expected, ["user_id", "event_date"]), check_dtype=False, rtol=1e-9
    )


def test_merchant_daily_stats_match_a_recomputation(marts, enriched):
    expected = (
        enriched.assign(event_date=enriched["event_date"].astype(str))
        .groupby(["merchant_id", "event_date"])
        .agg(
            transactions=("transaction_id", "size"),
            distinct_users=("user_id", "nunique"),
            distinct_cards=("card_token", "nunique"),
            total_amount=("amount", "sum"),
            cross_border_transactions=("is_cross_border", "sum"),
        )
        .reset_index()
    )
    actual = marts["merchant_daily_stats"][list(expected.columns)]
    pd.testing.assert_frame_equal(
        actual, comparable(expected, ["merchant_id", "event_date"]), check_dtype=False, rtol=1e-9
    )


def test_fct_chargebacks_has_every_silver_chargeback_of_the_days(marts, silver):
    assert sorted(marts["fct_chargebacks"]["transaction_id"]) == sorted(
        silver["chargebacks"]["transaction_id"]
    )


def test_every_model_is_materialized_for_every_day(gold, materialized_lake):
    materialized = {
        (event.asset_key, event.partition) for event in gold.get_asset_materialization_events()
    }
    models = {key for key in gold_dbt_assets.keys}
    assert len(models) == GOLD_MODELS
    assert materialized == {(key, day) for key in models for day in materialized_lake.days}


def test_every_dbt_test_is_an_asset_check_that_passed(gold):
    evaluations = {
        (evaluation.asset_key, evaluation.check_name): evaluation.passed
        for evaluation in gold.get_asset_check_evaluations()
    }
    expected = {(key.asset_key, key.name) for key in gold_dbt_assets.check_keys}
    assert set(evaluations) == expected
    assert len(expected) > 20
    assert all(evaluations.values())


def test_rerunning_a_day_leaves_identical_marts(marts, materialized_lake):
    day = materialized_lake.days[1]
    rerun = materialize_gold(materialized_lake.defs, materialized_lake.instance, day, day)
    assert rerun.success
    after = duckdb_marts(warehouse_path())
    for mart, frame in marts.items():
        pd.testing.assert_frame_equal(after[mart], frame, obj=mart)


def test_the_warehouse_pool_of_dagster_yaml_holds_a_run_while_another_has_the_slot(
    materialized_lake, gold
):
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    # The run executes in a worker thread, where Dagster's capture of step output (a `tail`
    # process per stream) once hung for 30 s on cleanup and failed the run; the pool is what
    # this test is about.
    config["compute_logs"] = {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
    with instance_for_test(overrides=config) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        assert storage.get_concurrency_info(WAREHOUSE_POOL).limit == 1
        storage.claim_concurrency_slot(WAREHOUSE_POOL, "other-run", "other-step")
        day = materialized_lake.days[0]
        runs = []
        worker = threading.Thread(
            target=lambda: runs.append(materialize_gold(materialized_lake.defs, instance, day, day))
        )
        worker.start()
        deadline = time.monotonic() + POOL_WAIT_SECONDS
        while not storage.get_concurrency_info(WAREHOUSE_POOL).pending_steps:
            assert time.monotonic() < deadline, "the gold step never queued for the pool"
            time.sleep(0.2)
        assert worker.is_alive()
        released_at = time.time()
        storage.free_concurrency_slots_for_run("other-run")
        worker.join(POOL_WAIT_SECONDS)
        (run,) = runs
        assert run.success
        (step_start,) = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
    assert step_start.timestamp >= released_at, "the step ran while the slot was taken"
