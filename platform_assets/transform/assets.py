"""The dbt project as daily-partitioned Dagster assets; dbt tests become asset checks."""

import json

from dagster import AssetExecutionContext, BackfillPolicy, Failure
from dagster_dbt import DbtCliResource, dbt_assets

from platform_assets.environment import PlatformSettings
from platform_assets.partitions import daily_partitions
from platform_assets.resources import LakeResource
from platform_assets.transform.postgres_silver import load_silver_window
from platform_assets.transform.project import DBT_EXECUTABLE, dbt_project
from platform_assets.transform.translator import GoldDbtTranslator
from platform_assets.transform.warehouse import (
    WarehouseResource,
    dbt_vars,
    warehouse_resource,
    window_days,
)

# Two dbt runs must never write one DuckDB file at once (DuckDB allows a single writer
# process). Every instance config (dagster.yaml, dagster.services.yaml) gives pools a limit
# of 1, so runs of these assets queue for the pool's only slot.
WAREHOUSE_POOL = "dbt_warehouse"

DBT_PROJECT = dbt_project()


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    name="gold_dbt",
    dagster_dbt_translator=GoldDbtTranslator(),
    partitions_def=daily_partitions,
    # A backfill is one dbt run over the whole range: one delete + insert per mart.
    backfill_policy=BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
def gold_dbt_assets(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    lake: LakeResource,
):
    first, last = window_days(context.partition_time_window)
    if warehouse.target == "postgres":
        loaded = load_silver_window(warehouse, lake, first, last)
        context.log.info(f"Loaded silver {first}..{last} into Postgres: {loaded}")
    elif lake.s3 is not None:
        raise Failure(
            "The duckdb target cannot read an S3 lake: dbt-duckdb's delta plugin takes S3 "
            "credentials only from source meta, which dbt writes into manifest.json. Use the "
            "postgres target (the services default); see dbt/README.md."
        )
    warehouse.prepare()
    run_vars = dbt_vars(first, last, lake.root, warehouse.connection_vars())
    args = ["build", "--target", warehouse.target, "--vars", json.dumps(run_vars)]
    yield from dbt.cli(args, context=context).stream()


GOLD_ASSETS = [gold_dbt_assets]


def gold_resources(settings: PlatformSettings) -> dict:
    return {
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT.project_dir),
            profiles_dir=str(DBT_PROJECT.profiles_dir),
            dbt_executable=str(DBT_EXECUTABLE),
        ),
        "warehouse": warehouse_resource(settings.warehouse),
    }
