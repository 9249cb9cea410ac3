"""How dbt nodes become Dagster assets: sources are the silver tables, models are keyed and
grouped by their warehouse schema (staging, intermediate, gold)."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator


class GoldDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        # A dbt source `silver.<table>` is the lake's asset `silver/<table>`, so the UI shows
        # one lineage from landing to gold; a model is `<schema>/<model>` as in the warehouse.
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return dbt_resource_props["schema"]
