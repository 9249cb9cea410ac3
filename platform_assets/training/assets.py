"""Training assets (group `training`): labels -> training set -> model.

The training window is run configuration of `training/labels` (launchpad: first and last
day, label cutoff, maturity), not a partition range. A training set is one dataset over a
window and a cutoff: as daily partitions it would show one "partition" per day that can
never be built alone, and the cutoff, which decides the labels, has no place in a
partition key. The window a model was trained on still shows as a partition-style range
(`dagster.partition_range` on its MLflow run, `window` in the metadata).

Each asset reads what its upstream materialization wrote (the Delta version recorded in the
upstream's metadata), validates before committing, and records what the next one needs.
"""

import json
from datetime import date, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from platform_assets.feature_store.registry import REGISTRY_KEY
from platform_assets.feature_store.repo import FeastResource
from platform_assets.features.assets import FEATURE_TABLES
from platform_assets.ingest.sources import CHARGEBACKS, TRANSACTIONS
from platform_assets.lake.assets import silver_key
from platform_assets.pandera_checks import SCHEMA_CHECK, schema_check, schema_problems
from platform_assets.resources import LakeResource
from platform_assets.tables import table_path
from platform_assets.tracking import TrackingResource
from platform_assets.training.labels import (
    CHARGEBACK_COLUMNS,
    KNOWN_STATUSES,
    LABELS_PANDERA_SCHEMA,
    SILVER_CHARGEBACKS,
    LabelWindow,
    compute_labels,
    current_input_versions,
    default_cutoff,
    labels_known_at_cutoff_violations,
    read_input,
    silver_days,
    status_counts,
)
from platform_assets.training.model import (
    MODEL_NAME,
    ModelSettings,
    NotTrainable,
    markdown_image,
    train_and_log,
)
from platform_assets.training.training_set import (
    FEATURE_SERVICE,
    LABEL,
    LEADING_COLUMNS,
    ROW_KEY,
    TrainingSetRecipe,
    build_training_set,
    content_hash,
    current_feature_versions,
    feature_columns,
    feature_timestamp_violations,
    label_leaks,
    registry_hash,
)

TRAINING_GROUP = "training"
LABELS_KEY = AssetKey(["training", "labels"])
TRAINING_SET_KEY = AssetKey(["training", "training_set"])
MODEL_KEY = AssetKey(["training", "model"])
LABELS_TABLE = table_path(LABELS_KEY)
TRAINING_SET_TABLE = table_path(TRAINING_SET_KEY)
TRAINING_EXPERIMENT = "fraud_model_training"


class LabelTimingConfig(Config):
    """When labels are read: shared by the training labels and the performance monitor."""

    label_cutoff: str | None = Field(
        default=None,
        description="Labels as known at this instant (ISO 8601 with an offset, e.g. "
        "2024-02-01T00:00:00+00:00); default: the latest reported chargeback in the lake.",
    )
    maturity_days: float = Field(
        default=30.0,
        ge=0,
        description="Days after a payment before it counts as legit without a chargeback; "
        "younger payments without one are `immature` and left out of the training set.",
    )

    def cutoff(self, lake: LakeResource, versions: dict[str, int]) -> datetime:
        """`label_cutoff`, or the latest chargeback reported in silver at `versions`."""
        if self.label_cutoff:
            return datetime.fromisoformat(self.label_cutoff)
        cutoff = default_cutoff(read_input(lake, SILVER_CHARGEBACKS, versions, CHARGEBACK_COLUMNS))
        if cutoff is None:
            raise Failure("silver chargebacks hold no rows: give label_cutoff explicitly")
        return cutoff


class LabelConfig(LabelTimingConfig):
    first_day: str | None = Field(
        default=None,
        description="First UTC event date (YYYY-MM-DD) of the training window; default: the "
        "earliest day in silver transactions.",
    )
    last_day: str | None = Field(
        default=None,
        description="Last UTC event date (YYYY-MM-DD), included; default: the latest day in "
        "silver transactions.",
    )


def label_window(config: LabelConfig, lake: LakeResource, versions: dict[str, int]):
    """The window the config asks for, defaults filled in from silver at `versions`."""
    earliest, latest = silver_days(lake, versions)
    return LabelWindow(
        first_day=date.fromisoformat(config.first_day) if config.first_day else earliest,
        last_day=date.fromisoformat(config.last_day) if config.last_day else latest,
        cutoff=config.cutoff(lake, versions),
        maturity_days=config.maturity_days,
    )


def _blocking(name: str, key: AssetKey, description: str) -> AssetCheckSpec:
    return AssetCheckSpec(name, asset=key, blocking=True, description=description)


@asset(
    key=LABELS_KEY,
    group_name=TRAINING_GROUP,
    deps=[silver_key(TRANSACTIONS), silver_key(CHARGEBACKS)],
    kinds={"delta", "pandera"},
    check_specs=[
        _blocking(SCHEMA_CHECK, LABELS_KEY, "columns, types, statuses; else nothing is written"),
        _blocking(
            "labels_known_at_cutoff",
            LABELS_KEY,
            "no label uses a chargeback reported after the cutoff, no payment is legit before "
            "it matured; else nothing is written",
        ),
    ],
    description="The training window's transactions with their fraud label as known at the "
    "cutoff (fraud / legit / reported_after_cutoff / immature): Feast's entity frame.",
)
def training_labels(context: AssetExecutionContext, config: LabelConfig, lake: LakeResource):
    try:
        versions = current_input_versions(lake)
        window = label_window(config, lake, versions)
    except (LookupError, ValueError) as error:
        raise Failure(str(error)) from error
    labels = compute_labels(lake, window, versions)
    problems = schema_problems(LABELS_PANDERA_SCHEMA, labels)
    violations = labels_known_at_cutoff_violations(labels, window)
    check = AssetCheckResult(
        asset_key=LABELS_KEY,
        check_name="labels_known_at_cutoff",
        passed=not any(violations.values()),
        metadata=violations,
    )
    if problems or not check.passed:
        yield schema_check(LABELS_KEY, problems, labels.num_rows)
        yield check
        raise Failure(f"labels failed validation and were not written: {problems or violations}")
    version = lake.replace_table(LABELS_TABLE, labels)
    counts = status_counts(labels)
    context.log.info("labels %s: %s", window.to_json(), counts)
    yield MaterializeResult(
        asset_key=LABELS_KEY,
        metadata={
            "dagster/row_count": labels.num_rows,
            "window": f"{window.first_day}..{window.last_day}",
            "label_cutoff": window.cutoff.isoformat(),
            "maturity_days": window.maturity_days,
            "label_status_counts": MetadataValue.json(counts),
            "label_window": MetadataValue.json(window.to_json()),
            "silver_versions": MetadataValue.json(versions),
            "delta_version": version,
            "table_uri": lake.table_uri(LABELS_TABLE),
        },
    )
    yield schema_check(LABELS_KEY, [], labels.num_rows)
    yield check


def _latest_metadata(context: AssetExecutionContext, key: AssetKey) -> dict:
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        raise Failure(f"{key.to_user_string()} has never been materialized")
    return {name: value.value for name, value in event.asset_materialization.metadata.items()}


class TrainingSetConfig(Config):
    feature_service: str = Field(
        default=FEATURE_SERVICE, description="The Feast feature service of the model."
    )


@asset(
    key=TRAINING_SET_KEY,
    group_name=TRAINING_GROUP,
    deps=[LABELS_KEY, REGISTRY_KEY, *(AssetDep(table.key) for table in FEATURE_TABLES)],
    kinds={"delta", "feast", "duckdb"},
    check_specs=[
        _blocking(
            "features_not_after_row",
            TRAINING_SET_KEY,
            "every joined feature row is at or before its row's timestamp (and within the "
            "view's TTL), per Feast's own join; else nothing is written",
        ),
        _blocking(
            "no_label_in_features",
            TRAINING_SET_KEY,
            "no label or chargeback column among the features, no feature equal to the label",
        ),
        _blocking(
            "one_row_per_label",
            TRAINING_SET_KEY,
            "exactly the labelled (fraud/legit) rows of the labels table, once each",
        ),
    ],
    description="Labelled rows joined point-in-time with the model's feature service by Feast "
    "(`get_historical_features`, DuckDB offline store, feature tables pinned to their Delta "
    "versions); versioned Delta table with its content hash.",
)
def training_set(
    context: AssetExecutionContext,
    config: TrainingSetConfig,
    lake: LakeResource,
    feast: FeastResource,
):
    upstream = _latest_metadata(context, LABELS_KEY)
    labels = lake.open(LABELS_TABLE, upstream["delta_version"]).to_pyarrow_dataset().to_table()
    store = feast.store()
    service = store.get_feature_service(config.feature_service)
    recipe = TrainingSetRecipe(
        feature_service=config.feature_service,
        label_window=upstream["label_window"],
        silver_versions=upstream["silver_versions"],
        feature_versions=current_feature_versions(store, service),
        feature_columns=feature_columns(service),
        registry_hash=registry_hash(store, service),
        labels_version=upstream["delta_version"],
    )
    rows = build_training_set(store, labels, recipe)
    expected_rows = sum(upstream["label_status_counts"][status] for status in KNOWN_STATUSES)
    timestamps = feature_timestamp_violations(store, labels, recipe)
    leaks = label_leaks(rows, recipe)
    checks = [
        AssetCheckResult(
            asset_key=TRAINING_SET_KEY,
            check_name="features_not_after_row",
            passed=all(v["after_row"] == 0 and v["beyond_ttl"] == 0 for v in timestamps.values()),
            metadata={"per_view": MetadataValue.json(timestamps)},
        ),
        AssetCheckResult(
            asset_key=TRAINING_SET_KEY,
            check_name="no_label_in_features",
            passed=not leaks,
            metadata={"problems": MetadataValue.json(leaks), "features": recipe.feature_columns},
        ),
        AssetCheckResult(
            asset_key=TRAINING_SET_KEY,
            check_name="one_row_per_label",
            passed=rows.num_rows == expected_rows
            and len(set(rows[ROW_KEY].to_pylist())) == rows.num_rows,
            metadata={"rows": rows.num_rows, "labelled_rows": expected_rows},
        ),
    ]
    if not all(check.passed for check in checks):
        yield from checks
        raise Failure("the training set failed its checks and was not written")
    version = lake.replace_table(TRAINING_SET_TABLE, rows)
    digest = content_hash(rows)
    yield MaterializeResult(
        asset_key=TRAINING_SET_KEY,
        metadata={
            "dagster/row_count": rows.num_rows,
            "frauds": int(sum(rows[LABEL].to_pylist())),
            "delta_version": version,
            "content_hash": digest,
            "feature_service": recipe.feature_service,
            "registry_hash": recipe.registry_hash,
            "recipe": MetadataValue.json(json.loads(recipe.to_json())),
            "table_uri": lake.table_uri(TRAINING_SET_TABLE),
        },
    )
    yield from checks


class ModelConfig(Config):
    evaluation_days: int = Field(
        default=1, ge=1, description="The last N days of the set are held out for evaluation."
    )
    alert_rate: float = Field(
        default=0.01,
        gt=0,
        le=1,
        description="Share of payments that raise an alert, for precision and recall.",
    )
    max_iter: int = Field(default=200, ge=1)
    learning_rate: float = Field(default=0.1, gt=0)
    max_leaf_nodes: int = Field(default=31, ge=2)


def read_training_set(lake: LakeResource, version: int, recipe: TrainingSetRecipe):
    """The training set at `version`, sorted by row key, as it was written."""
    dataset = lake.open(TRAINING_SET_TABLE, version).to_pyarrow_dataset()
    return dataset.to_table(columns=[*LEADING_COLUMNS, *recipe.feature_columns]).sort_by(ROW_KEY)


@asset(
    key=MODEL_KEY,
    group_name=TRAINING_GROUP,
    deps=[TRAINING_SET_KEY],
    kinds={"mlflow", "scikitlearn"},
    description=f"HistGradientBoosting fraud classifier trained on the earlier days of the "
    f"training set, evaluated on the later ones, logged to MLflow and registered as "
    f"`{MODEL_NAME}` (alias `champion` if it beats the current one on the same days).",
)
def fraud_model(
    context: AssetExecutionContext,
    config: ModelConfig,
    lake: LakeResource,
    tracking: TrackingResource,
) -> MaterializeResult:
    upstream = _latest_metadata(context, TRAINING_SET_KEY)
    recipe = TrainingSetRecipe.from_json(json.dumps(upstream["recipe"]))
    rows = read_training_set(lake, upstream["delta_version"], recipe)
    if content_hash(rows) != upstream["content_hash"]:
        raise Failure(
            f"{TRAINING_SET_TABLE} version {upstream['delta_version']} does not match the hash "
            "its materialization recorded"
        )
    window = LabelWindow.from_json(recipe.label_window)
    tags = {
        "training_set.delta_version": str(upstream["delta_version"]),
        "training_set.content_hash": upstream["content_hash"],
        "training_set.uri": lake.table_uri(TRAINING_SET_TABLE),
        "labels.delta_version": str(recipe.labels_version),
        "labels.cutoff": window.cutoff.isoformat(),
        "feast.registry_hash": recipe.registry_hash,
        "feast.feature_service": recipe.feature_service,
        "dagster.run_id": context.run.run_id,
        "dagster.partition_range": f"{window.first_day}..{window.last_day}",
        "dagster.asset": MODEL_KEY.to_user_string(),
    }
    settings = ModelSettings(
        evaluation_days=config.evaluation_days,
        alert_rate=config.alert_rate,
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
    )
    try:
        trained = train_and_log(
            tracking,
            rows,
            recipe.feature_columns,
            settings,
            experiment=TRAINING_EXPERIMENT,
            run_name=f"{MODEL_NAME} {window.first_day}..{window.last_day}",
            params={
                **{f"window.{name}": value for name, value in window.to_json().items()},
                "feature_service": recipe.feature_service,
            },
            tags=tags,
            artifacts={"training_set_recipe.json": recipe.to_json()},
        )
    except NotTrainable as error:
        raise Failure(str(error)) from error
    context.log.info(
        "ROC-AUC %.4f, PR-AUC %.4f on %s; %s",
        trained.metrics["roc_auc"],
        trained.metrics["pr_auc"],
        ", ".join(trained.split.evaluation_days),
        trained.promotion.reason,
    )
    return MaterializeResult(
        metadata={
            **{name: MetadataValue.float(value) for name, value in trained.metrics.items()},
            "evaluation_days": ", ".join(trained.split.evaluation_days),
            "train_days": f"{trained.split.train_days[0]}..{trained.split.train_days[-1]}",
            "mlflow_run_id": trained.run_id,
            "registered_model": f"{MODEL_NAME} v{trained.model_version}",
            "champion_decision": trained.promotion.tags()["champion.decision"],
            "champion_reason": trained.promotion.reason,
            "training_set_version": upstream["delta_version"],
            "training_set_hash": upstream["content_hash"],
            "calibration": MetadataValue.md(markdown_image(trained.calibration_png, "calibration")),
            "feature_importance": MetadataValue.md(
                markdown_image(trained.importance_png, "permutation importance")
            ),
        }
    )


TRAINING_ASSETS = [training_labels, training_set, fraud_model]
