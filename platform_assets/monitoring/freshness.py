"""Freshness checks (Dagster's time-partition freshness checks) on the daily lake tables, the
feature tables and the online-store pushes, and the sensor that evaluates them.

The nightly schedule runs yesterday's partition at 02:00 UTC; by 06:00 UTC
(`FRESHNESS_DEADLINE_CRON`) each of these assets must hold yesterday's partition, or its check
`freshness_check` fails (severity WARN) with the last update time in its metadata. Before the
deadline the check expects the day before.
"""

from dagster import (
    AssetSelection,
    build_sensor_for_freshness_checks,
    build_time_partition_freshness_checks,
    define_asset_job,
)

from platform_assets.feature_store.online import online_key
from platform_assets.features.assets import FEATURE_TABLES
from platform_assets.ingest.sources import PARTITIONED_SOURCES
from platform_assets.lake.assets import silver_key

FRESHNESS_DEADLINE_CRON = "0 6 * * *"
FRESH_ASSETS = [
    *(silver_key(source) for source in PARTITIONED_SOURCES),
    *(table.key for table in FEATURE_TABLES),
    *(online_key(table) for table in FEATURE_TABLES),
]
FRESHNESS_CHECKS = build_time_partition_freshness_checks(
    assets=FRESH_ASSETS, deadline_cron=FRESHNESS_DEADLINE_CRON, timezone="UTC"
)
freshness_checks_sensor = build_sensor_for_freshness_checks(
    freshness_checks=FRESHNESS_CHECKS, name="freshness_checks_sensor", minimum_interval_seconds=600
)
freshness_job = define_asset_job(
    "freshness_job",
    selection=AssetSelection.checks(*FRESHNESS_CHECKS),
    description="Evaluate the freshness checks of the lake, feature and online-store tables now.",
)
