"""Gold layer: the dbt project in `dbt/` as Dagster assets (silver -> staging -> gold)."""
