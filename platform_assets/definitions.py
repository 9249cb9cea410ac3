"""The one place that assembles the platform's Dagster definitions."""

from dagster import Definitions

from platform_assets.environment import PlatformSettings, platform_settings
from platform_assets.feature_store.online import ONLINE_ASSETS
from platform_assets.feature_store.registry import feast_registry
from platform_assets.feature_store.repo import feast_resource
from platform_assets.feature_store.sensors import online_store_after_features_sensor
from platform_assets.features.assets import FEATURE_ASSETS
from platform_assets.features.sensors import features_after_lake_sensor
from platform_assets.ingest.assets import BRONZE_ASSETS, LANDING_SPECS
from platform_assets.ingest.sensors import landing_files_sensor
from platform_assets.jobs import (
    daily_features_job,
    daily_gold_job,
    daily_lake_job,
    drift_job,
    feast_apply_job,
    online_store_job,
    performance_job,
    reference_lake_job,
    skew_job,
    training_job,
)
from platform_assets.lake.assets import SILVER_ASSETS
from platform_assets.monitoring.alerts import alert_resource, drift_alert_sensor
from platform_assets.monitoring.assets import MONITORING_ASSETS
from platform_assets.monitoring.freshness import (
    FRESHNESS_CHECKS,
    freshness_checks_sensor,
    freshness_job,
)
from platform_assets.resources import platform_resources
from platform_assets.schedules import (
    matured_performance_schedule,
    nightly_drift_schedule,
    nightly_lake_schedule,
)
from platform_assets.tracking import tracking_resource
from platform_assets.training.assets import TRAINING_ASSETS
from platform_assets.transform.assets import GOLD_ASSETS, gold_resources


def build_definitions(settings: PlatformSettings | None = None) -> Definitions:
    """Definitions bound to `settings` (default: the current environment)."""
    settings = settings or platform_settings()
    return Definitions(
        assets=[
            *LANDING_SPECS,
            *BRONZE_ASSETS,
            *SILVER_ASSETS,
            *GOLD_ASSETS,
            *FEATURE_ASSETS,
            feast_registry,
            *ONLINE_ASSETS,
            *TRAINING_ASSETS,
            *MONITORING_ASSETS,
        ],
        asset_checks=FRESHNESS_CHECKS,
        jobs=[
            daily_lake_job,
            reference_lake_job,
            daily_gold_job,
            daily_features_job,
            feast_apply_job,
            online_store_job,
            training_job,
            drift_job,
            skew_job,
            performance_job,
            freshness_job,
        ],
        sensors=[
            landing_files_sensor,
            features_after_lake_sensor,
            online_store_after_features_sensor,
            drift_alert_sensor,
            freshness_checks_sensor,
        ],
        schedules=[nightly_lake_schedule, nightly_drift_schedule, matured_performance_schedule],
        resources={
            **platform_resources(settings),
            **gold_resources(settings),
            "feast": feast_resource(settings),
            "tracking": tracking_resource(settings),
            "alerts": alert_resource(settings),
        },
    )


defs = build_definitions()
