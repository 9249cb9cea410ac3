"""How the dbt project appears in Dagster: keys, groups, lineage onto silver, checks, pool,
backfill policy, and the dbt tests' accepted values against the silver contract."""

import json

import pytest
import yaml
from dagster import AssetKey, BackfillPolicy

from platform_assets.environment import REPO_ROOT
from platform_assets.lake.assets import SILVER_ASSETS
from platform_assets.lake.schemas import CURRENCIES, PAYMENT_METHODS
from platform_assets.transform.assets import DBT_PROJECT, WAREHOUSE_POOL, gold_dbt_assets
from platform_assets.transform.project import ManifestMissing, dbt_project
from platform_assets.transform.translator import GoldDbtTranslator

SILVER_KEYS = {key for asset in SILVER_ASSETS for key in asset.keys if key.path[0] == "silver"}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(DBT_PROJECT.manifest_path.read_text())


def test_sources_are_the_silver_assets_and_models_are_keyed_and_grouped_by_schema():
    translator = GoldDbtTranslator()
    source = {"resource_type": "source", "source_name": "silver", "name": "users"}
    model = {"resource_type": "model", "schema": "gold", "name": "fct_transactions"}
    assert translator.get_asset_key(source) == AssetKey(["silver", "users"])
    assert translator.get_asset_key(model) == AssetKey(["gold", "fct_transactions"])
    assert translator.get_group_name(model) == "gold"


def test_every_dbt_source_is_a_silver_asset_and_lineage_reaches_them():
    upstream = {key for keys in gold_dbt_assets.asset_deps.values() for key in keys}
    external = upstream - set(gold_dbt_assets.keys)
    assert external == {
        AssetKey(["silver", name]) for name in ("transactions", "chargebacks", "users", "merchants")
    }
    assert external <= SILVER_KEYS


def test_models_sit_in_the_staging_intermediate_and_gold_groups():
    groups = gold_dbt_assets.group_names_by_key
    assert groups[AssetKey(["staging", "stg_transactions"])] == "staging"
    assert groups[AssetKey(["intermediate", "int_transactions_enriched"])] == "intermediate"
    assert {key for key, group in groups.items() if group == "gold"} == {
        AssetKey(["gold", name])
        for name in (
            "fct_transactions",
            "fct_chargebacks",
            "user_daily_stats",
            "merchant_daily_stats",
        )
    }


def test_dbt_tests_are_asset_checks_of_their_models(manifest):
    data_tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    assert len(gold_dbt_assets.check_keys) == len(data_tests)
    assert all(key.asset_key in gold_dbt_assets.keys for key in gold_dbt_assets.check_keys)


def test_accepted_values_are_the_silver_contract(manifest):
    accepted = {
        node["column_name"]: set(node["test_metadata"]["kwargs"]["values"])
        for node in manifest["nodes"].values()
        if node.get("test_metadata", {}).get("name") == "accepted_values"
    }
    assert accepted == {"currency": set(CURRENCIES), "payment_method": set(PAYMENT_METHODS)}


def test_backfills_are_one_run_in_the_warehouse_pool_whose_limit_is_one():
    assert gold_dbt_assets.backfill_policy == BackfillPolicy.single_run()
    assert gold_dbt_assets.op.pool == WAREHOUSE_POOL
    for config_file in ("dagster.yaml", "dagster.services.yaml"):
        config = yaml.safe_load((REPO_ROOT / config_file).read_text())
        assert config["concurrency"]["pools"]["default_limit"] == 1, config_file


def test_a_missing_manifest_says_how_to_build_it(tmp_path):
    (tmp_path / "dbt_project.yml").write_text(
        (DBT_PROJECT.project_dir / "dbt_project.yml").read_text()
    )
    with pytest.raises(ManifestMissing, match="make dbt-manifest"):
        dbt_project(tmp_path)
