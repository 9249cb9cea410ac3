"""Jobs: the daily lake tables, the reference snapshots, the gold dbt models, the daily
feature tables and their online-store pushes, and model training."""

from dagster import AssetKey, AssetSelection, define_asset_job

from platform_assets.feature_store.registry import FEATURE_STORE_GROUP, REGISTRY_KEY
from platform_assets.ingest.assets import bronze_key
from platform_assets.ingest.sources import PARTITIONED_SOURCES, REFERENCE_SOURCES, LandingSource
from platform_assets.lake.assets import silver_key
from platform_assets.monitoring.assets import DRIFT_REPORT_KEY, PERFORMANCE_KEY, SKEW_KEY
from platform_assets.partitions import daily_partitions
from platform_assets.tables import quarantine_key


def lake_keys(source: LandingSource) -> list[AssetKey]:
    """The tables one landing source feeds: bronze, silver and their quarantines."""
    tables = [bronze_key(source), silver_key(source)]
    return [*tables, *(quarantine_key(key) for key in tables)]


def _selection(sources) -> AssetSelection:
    return AssetSelection.assets(*(key for source in sources for key in lake_keys(source)))


daily_lake_job = define_asset_job(
    "daily_lake_job",
    selection=_selection(PARTITIONED_SOURCES),
    partitions_def=daily_partitions,
    description="Landing -> bronze -> silver for one day of transactions and chargebacks.",
)

reference_lake_job = define_asset_job(
    "reference_lake_job",
    selection=_selection(REFERENCE_SOURCES),
    description="Landing -> bronze -> silver for the users and merchants snapshots.",
)

daily_gold_job = define_asset_job(
    "daily_gold_job",
    selection=AssetSelection.groups("staging", "intermediate", "gold"),
    partitions_def=daily_partitions,
    description="Silver -> dbt staging, intermediate and gold marts for one day or a range of "
    "days (a range runs as one dbt run).",
)

daily_features_job = define_asset_job(
    "daily_features_job",
    selection=AssetSelection.groups("features"),
    partitions_def=daily_partitions,
    description="Silver -> point-in-time feature tables for one day or a range of days "
    "(a range runs as one run).",
)

online_store_job = define_asset_job(
    "online_store_job",
    selection=AssetSelection.groups(FEATURE_STORE_GROUP) - AssetSelection.assets(REGISTRY_KEY),
    partitions_def=daily_partitions,
    description="Feature tables -> Feast online store for one day or a range of days (the "
    "Feast registry must be applied first).",
)

feast_apply_job = define_asset_job(
    "feast_apply_job",
    selection=AssetSelection.assets(REGISTRY_KEY),
    description="`feast apply` of feature_repo/ into this profile's registry.",
)

training_job = define_asset_job(
    "training_job",
    selection=AssetSelection.groups("training"),
    description="Labels as known at a cutoff -> point-in-time training set from Feast -> model "
    "trained, logged to MLflow, registered and promoted if better (window: run config of "
    "training/labels).",
)

drift_job = define_asset_job(
    "drift_job",
    selection=AssetSelection.assets(DRIFT_REPORT_KEY),
    partitions_def=daily_partitions,
    description="Drift report of one day against the champion's training set (run the "
    "training job first).",
)

performance_job = define_asset_job(
    "performance_job",
    selection=AssetSelection.assets(PERFORMANCE_KEY),
    partitions_def=daily_partitions,
    description="The champion's ROC-AUC / precision at the alert rate on a day whose labels "
    "have matured, against its training evaluation.",
)

skew_job = define_asset_job(
    "skew_job",
    selection=AssetSelection.assets(SKEW_KEY),
    description="Training-serving skew: online store values vs the latest offline feature rows "
    "of sampled entities.",
)
