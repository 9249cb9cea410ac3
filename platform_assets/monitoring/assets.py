"""Monitoring assets (group `monitoring`): the daily drift report and its check.

`monitoring/drift_report` (daily partitions): the day's payments from silver, joined
point-in-time with the champion's feature service by Feast exactly as the training set was,
scored by the champion, compared with the champion's training set (its features, its
payments' categorical fields and its scores): metrics per column to the Delta table
`monitoring/drift_report`, an HTML report with histogram overlays, an MLflow run with both, and
the check `no_critical_drift`. The reference statistics are computed once per training set
(keyed by its content hash) and kept in the Delta table `monitoring/drift_reference`.
"""

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from platform_assets.feature_store.online import online_key
from platform_assets.feature_store.repo import FeastResource
from platform_assets.features.assets import FEATURE_TABLES
from platform_assets.features.compute import MERCHANT_FEATURE_COLUMNS, USER_FEATURE_COLUMNS
from platform_assets.ingest.sources import CHARGEBACKS, TRANSACTIONS
from platform_assets.lake.assets import silver_key
from platform_assets.monitoring.drift import (
    CRITICAL,
    OK,
    SEVERITIES,
    WARNING,
    Band,
    DriftThresholds,
    ReferenceStatistics,
    compute_reference,
    drift_metrics,
    worst_severity,
)
from platform_assets.monitoring.performance import DropRule, judge_drop
from platform_assets.monitoring.report import (
    flagged_columns,
    html_report,
    markdown_table,
    overlay_png,
)
from platform_assets.monitoring.skew import (
    compare,
    latest_offline,
    sample_entities,
    skew_table,
)
from platform_assets.partitions import daily_partitions
from platform_assets.resources import LakeResource
from platform_assets.tables import table_path
from platform_assets.tracking import TrackingResource
from platform_assets.training.assets import MODEL_KEY, TRAINING_SET_TABLE, LabelTimingConfig
from platform_assets.training.labels import (
    KNOWN_STATUSES,
    SILVER_TRANSACTIONS,
    LabelWindow,
    compute_labels,
    current_input_versions,
    entity_frame,
)
from platform_assets.training.model import CHAMPION, MODEL_NAME, evaluate, fraud_scores
from platform_assets.training.training_set import (
    current_feature_versions,
    historical_features,
)

MONITORING_GROUP = "monitoring"
DRIFT_REPORT_KEY = AssetKey(["monitoring", "drift_report"])
DRIFT_METRICS_TABLE = table_path(DRIFT_REPORT_KEY)
DRIFT_REFERENCE_TABLE = "monitoring/drift_reference"
DRIFT_CHECK = "no_critical_drift"
DRIFT_EXPERIMENT = "fraud_drift_monitoring"
SCORE_COLUMN = "model_score"
CATEGORICAL_INPUTS = ("payment_method", "merchant_category")
"""Payment fields the model does not take but whose mix the report watches."""
MAX_OVERLAYS_IN_METADATA = 4
ONLINE_FEATURES = {
    "user_features": list(USER_FEATURE_COLUMNS),
    "merchant_features": list(MERCHANT_FEATURE_COLUMNS),
}
WINDOW_DAYS = {
    column: table.history_days for table in FEATURE_TABLES for column in ONLINE_FEATURES[table.name]
}
"""Each feature-table column and the days of history its table's windows read."""
TIME_COLUMN = "event_timestamp"


class DriftConfig(Config):
    """Thresholds of the drift rules (see docs/monitoring.md); defaults as DriftThresholds."""

    wasserstein_warning: float = Field(default=0.1, ge=0)
    wasserstein_critical: float = Field(default=0.2, ge=0)
    psi_warning: float = Field(default=0.1, ge=0)
    psi_critical: float = Field(default=0.25, ge=0)
    cohens_d_warning: float = Field(default=0.2, ge=0)
    cohens_d_critical: float = Field(default=0.5, ge=0)
    jensen_shannon_warning: float = Field(default=0.1, ge=0)
    jensen_shannon_critical: float = Field(default=0.2, ge=0)
    p_value: float = Field(default=0.01, gt=0, le=1, description="significance gate")
    min_reference_rows: int = Field(default=200, ge=1)
    min_current_rows: int = Field(default=100, ge=1)
    psi_bins: int = Field(default=10, ge=2)

    def thresholds(self) -> DriftThresholds:
        return DriftThresholds(
            wasserstein=Band(self.wasserstein_warning, self.wasserstein_critical),
            psi=Band(self.psi_warning, self.psi_critical),
            cohens_d=Band(self.cohens_d_warning, self.cohens_d_critical),
            jensen_shannon=Band(self.jensen_shannon_warning, self.jensen_shannon_critical),
            p_value=self.p_value,
            min_reference_rows=self.min_reference_rows,
            min_current_rows=self.min_current_rows,
            psi_bins=self.psi_bins,
        )


@dataclass
class Champion:
    version: str
    model: object
    features: list[str]
    training_set_hash: str
    training_set_version: int
    feature_service: str
    run_id: str


def load_champion(tracking: TrackingResource) -> Champion:
    """The registry's champion with the lineage tags of the training set it learnt from."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = tracking.client()
    try:
        version = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    except MlflowException as error:
        raise Failure(f"no `{CHAMPION}` of {MODEL_NAME} yet: train a model first") from error
    tags = version.tags or client.get_run(version.run_id).data.tags
    with tracking.fluent_api():
        model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{version.version}")
    return Champion(
        version=str(version.version),
        model=model,
        features=list(model.feature_names_in_),
        training_set_hash=tags["training_set.content_hash"],
        training_set_version=int(tags["training_set.delta_version"]),
        feature_service=tags["feast.feature_service"],
        run_id=version.run_id,
    )


def payment_fields(lake: LakeResource, filters) -> pd.DataFrame:
    columns = [
        "transaction_id",
        "user_id",
        "merchant_id",
        "amount",
        "event_time",
        *CATEGORICAL_INPUTS,
    ]
    table = lake.open(SILVER_TRANSACTIONS).to_pyarrow_dataset().to_table(columns, filter=filters)
    return table.to_pandas()


def scored(frame: pd.DataFrame, champion: Champion) -> pd.DataFrame:
    frame = frame.copy()
    frame[SCORE_COLUMN] = fraud_scores(champion.model, frame, champion.features)
    return frame


def lake_history_start(lake: LakeResource) -> date:
    """The first day of silver transactions: no feature window reaches further back."""
    partitions = lake.open(SILVER_TRANSACTIONS).partitions()
    return min(date.fromisoformat(p[TRANSACTIONS.partition_date_column]) for p in partitions)


def window_complete_from(history_from: date, column: str) -> datetime:
    return datetime.combine(history_from, datetime.min.time(), UTC) + timedelta(
        days=WINDOW_DAYS[column]
    )


def without_partial_windows(frame: pd.DataFrame, history_from: date) -> pd.DataFrame:
    """The rows with each feature-table value computed before the lake held its window's
    history set to null, which the drift metrics leave out. On the lake's third day a 7-day
    count counts three days: a reference holding such values makes every later day look
    drifted (on generated data, user_txn_count_7d and merchant_txn_count_30d were critical on
    every clean day). Scores are computed before this, from the values the model saw."""
    frame = frame.copy()
    times = pd.to_datetime(frame[TIME_COLUMN], utc=True)
    for column in WINDOW_DAYS.keys() & set(frame.columns):
        frame[column] = frame[column].where(times >= window_complete_from(history_from, column))
    return frame


def explain_unjudged_windows(metrics: pd.DataFrame, history_from: date) -> pd.DataFrame:
    """Adds to the reason of each windowed column left unjudged which values were left out."""
    metrics = metrics.copy()
    unjudged = metrics["column"].isin(WINDOW_DAYS.keys()) & metrics["reason"].str.startswith(
        "not judged"
    )
    for index in metrics.index[unjudged]:
        column = metrics.at[index, "column"]
        metrics.at[index, "reason"] += (
            f"; values before {window_complete_from(history_from, column).date()} are left out "
            f"(its {WINDOW_DAYS[column]}-day window reaches before the lake's first day, "
            f"{history_from})"
        )
    return metrics


def reference_statistics(
    lake: LakeResource,
    champion: Champion,
    thresholds: DriftThresholds,
    history_from: date,
    log,
) -> ReferenceStatistics:
    """The stored statistics of the champion's training set, without values whose window the
    lake's history did not cover; computed and stored on first use (one partition of
    `monitoring/drift_reference` per training-set hash, PSI bin count and history start)."""
    key = f"{champion.training_set_hash}:bins={thresholds.psi_bins}:history_from={history_from}"
    stored = lake.read(DRIFT_REFERENCE_TABLE, filters=pc.field("reference_key") == key)
    if stored is not None and stored.num_rows:
        return ReferenceStatistics.from_arrow(stored)
    rows = lake.open(TRAINING_SET_TABLE, champion.training_set_version).to_pandas()
    fields = payment_fields(
        lake, pc.field("transaction_id").isin(pa.array(rows["transaction_id"].tolist()))
    )
    rows = rows.merge(
        fields[["transaction_id", *CATEGORICAL_INPUTS]], on="transaction_id", how="left"
    )
    statistics = compute_reference(
        without_partial_windows(scored(rows, champion), history_from),
        [*champion.features, SCORE_COLUMN],
        list(CATEGORICAL_INPUTS),
        key,
        thresholds,
    )
    table = statistics.to_arrow()
    table = table.append_column(
        "computed_at", pa.array([datetime.now(UTC)] * table.num_rows, pa.timestamp("us", "UTC"))
    )
    lake.replace_key(DRIFT_REFERENCE_TABLE, table, "reference_key", key)
    log.info("reference statistics of %s computed and stored (%d rows)", key, statistics.rows)
    return statistics


def day_rows(lake: LakeResource, feast: FeastResource, champion: Champion, day: date):
    """The day's payments with the champion's features as Feast joins them, and its score."""
    payments = payment_fields(lake, pc.field(TRANSACTIONS.partition_date_column) == day)
    if payments.empty:
        return payments
    store = feast.store()
    service = store.get_feature_service(champion.feature_service)
    joined = historical_features(
        store, entity_frame(payments), service, current_feature_versions(store, service)
    ).to_pandas()
    joined = joined.merge(
        payments[["transaction_id", *CATEGORICAL_INPUTS]], on="transaction_id", how="left"
    )
    return scored(joined, champion)


def metrics_table(metrics: pd.DataFrame, day: date, reference_key: str, champion: str):
    frame = metrics.copy()
    frame.insert(0, "event_date", day)
    frame["reference_key"] = reference_key
    frame["champion_version"] = champion
    frame["computed_at"] = pd.Timestamp.now(tz="UTC")
    frame["chi2_dof"] = frame["chi2_dof"].astype("float64")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.set_column(
        table.schema.get_field_index("event_date"),
        "event_date",
        pa.array([day] * table.num_rows, pa.date32()),
    )


@asset(
    key=DRIFT_REPORT_KEY,
    group_name=MONITORING_GROUP,
    partitions_def=daily_partitions,
    deps=[silver_key(TRANSACTIONS), MODEL_KEY, *(table.key for table in FEATURE_TABLES)],
    kinds={"delta", "mlflow", "scipy"},
    check_specs=[
        AssetCheckSpec(
            DRIFT_CHECK,
            asset=DRIFT_REPORT_KEY,
            partitions_def=daily_partitions,
            description="no feature, payment field or model score drifted critically from the "
            "champion's training set",
        )
    ],
    description="The day's features (as Feast joins them for the champion), payment mix and "
    "model scores against the champion's training set: KS, Wasserstein, PSI, Cohen's d, "
    "chi-square, Jensen-Shannon; severities; HTML report in MLflow.",
)
def drift_report(
    context: AssetExecutionContext,
    config: DriftConfig,
    lake: LakeResource,
    feast: FeastResource,
    tracking: TrackingResource,
):
    day = date.fromisoformat(context.partition_key)
    thresholds = config.thresholds()
    champion = load_champion(tracking)
    history_from = lake_history_start(lake)
    reference = reference_statistics(lake, champion, thresholds, history_from, context.log)
    current = day_rows(lake, feast, champion, day)
    if current.empty:
        raise Failure(f"silver transactions hold no payment on {day}")
    current = without_partial_windows(current, history_from)
    metrics = explain_unjudged_windows(drift_metrics(reference, current, thresholds), history_from)
    worst = worst_severity(metrics["severity"])
    counts = {level: int((metrics["severity"] == level).sum()) for level in SEVERITIES}
    flagged = flagged_columns(metrics)
    overlays = {name: overlay_png(reference, current, name) for name in flagged}
    facts = {
        "day": day.isoformat(),
        "rows": str(len(current)),
        "champion": f"{MODEL_NAME} v{champion.version}",
        "reference": f"training set {reference.key} ({reference.rows} rows)",
        "worst severity": worst,
        "lake history from": history_from.isoformat(),
        "thresholds": str(thresholds.to_dict()),
    }
    report = html_report(f"Drift report {day}", metrics, overlays, facts)
    version = lake.replace_partition(
        DRIFT_METRICS_TABLE,
        metrics_table(metrics, day, reference.key, champion.version),
        "event_date",
        day,
    )
    run_id = log_drift_run(tracking, context, day, metrics, report, champion, reference, worst)
    summary = markdown_table(metrics)
    images = [
        f"![{name}](data:image/png;base64,{base64.b64encode(png).decode()})"
        for name, png in list(overlays.items())[:MAX_OVERLAYS_IN_METADATA]
    ]
    yield MaterializeResult(
        metadata={
            "dagster/row_count": len(metrics),
            "rows_compared": len(current),
            "worst_severity": worst,
            "severity_counts": MetadataValue.json(counts),
            "flagged_columns": MetadataValue.json(flagged),
            "metrics": MetadataValue.md(summary),
            "overlays": MetadataValue.md("\n\n".join(images) or "no column flagged"),
            "champion_version": champion.version,
            "reference_key": reference.key,
            "history_from": history_from.isoformat(),
            "mlflow_run_id": run_id,
            "delta_version": version,
            "table_uri": lake.table_uri(DRIFT_METRICS_TABLE),
        }
    )
    critical = metrics.loc[metrics["severity"] == CRITICAL]
    yield AssetCheckResult(
        asset_key=DRIFT_REPORT_KEY,
        check_name=DRIFT_CHECK,
        passed=critical.empty,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "critical": MetadataValue.json(
                dict(zip(critical["column"], critical["reason"], strict=True))
            ),
            "warning": MetadataValue.json(
                metrics.loc[metrics["severity"] == WARNING, "column"].tolist()
            ),
            "worst_severity": worst,
            "champion_version": champion.version,
            "mlflow_run_id": run_id,
        },
    )


def log_drift_run(tracking, context, day, metrics, report, champion, reference, worst) -> str:
    import mlflow

    tags = {
        "monitoring.day": day.isoformat(),
        "monitoring.worst_severity": worst,
        "champion.version": champion.version,
        "reference.key": reference.key,
        "dagster.run_id": context.run.run_id,
        "dagster.asset": DRIFT_REPORT_KEY.to_user_string(),
        "dagster.partition": day.isoformat(),
    }
    values = {}
    for _, row in metrics.iterrows():
        for name in ("ks_statistic", "ks_p_value", "wasserstein_normalised", "psi", "cohens_d",
                     "chi2_statistic", "chi2_p_value", "jensen_shannon"):  # fmt: skip
            value = row[name]
            if pd.notna(value) and abs(value) != float("inf"):
                values[f"{row['column']}.{name}"] = float(value)
        values[f"{row['column']}.severity"] = float(SEVERITIES.index(row["severity"]))
    with tracking.active_run(DRIFT_EXPERIMENT, f"drift {day}", tags) as run:
        mlflow.log_metrics(values)
        mlflow.log_metric("columns_critical", float((metrics["severity"] == CRITICAL).sum()))
        mlflow.log_metric("columns_warning", float((metrics["severity"] == WARNING).sum()))
        mlflow.log_metric("columns_ok", float((metrics["severity"] == OK).sum()))
        mlflow.log_text(report, "drift_report.html")
        mlflow.log_text(metrics.to_csv(index=False), "drift_metrics.csv")
        return run.info.run_id


SKEW_KEY = AssetKey(["monitoring", "training_serving_skew"])
SKEW_CHECK = "online_matches_offline"


class SkewConfig(Config):
    sample_size: int = Field(default=500, ge=1, description="entities sampled per feature table")
    seed: int = Field(default=0, description="seed of the entity sample")


@asset(
    key=SKEW_KEY,
    group_name=MONITORING_GROUP,
    deps=[online_key(table) for table in FEATURE_TABLES],
    kinds={"feast", "delta"},
    check_specs=[
        AssetCheckSpec(
            SKEW_CHECK,
            asset=SKEW_KEY,
            description="for the sampled entities, every online feature value equals the "
            "latest offline value up to the last day pushed",
        )
    ],
    description="Training-serving skew: for sampled entities of each feature table, the online "
    "store's values (Feast SDK) vs the latest offline Delta row up to the last pushed day: "
    "share of mismatches and largest difference per feature.",
)
def training_serving_skew(
    context: AssetExecutionContext, config: SkewConfig, lake: LakeResource, feast: FeastResource
):
    store = feast.store()
    results, last_days = {}, {}
    for table in FEATURE_TABLES:
        pushed = context.instance.get_materialized_partitions(online_key(table))
        if not pushed:
            raise Failure(f"{online_key(table).to_user_string()} was never pushed")
        last_day = date.fromisoformat(max(pushed))
        offline = latest_offline(
            lake.read(table_path(table.key)).to_pandas(), table.entity, last_day
        )
        entities = sample_entities(offline.index, config.sample_size, config.seed)
        features = ONLINE_FEATURES[table.name]
        online = (
            store.get_online_features(
                features=[f"{table.name}:{name}" for name in features],
                entity_rows=[{table.entity: entity} for entity in entities],
            )
            .to_df()
            .set_index(table.entity)
        )
        results[table.name] = compare(offline.loc[entities], online, features)
        last_days[table.name] = last_day.isoformat()
    skews = [skew for per_table in results.values() for skew in per_table]
    mismatches = sum(skew.mismatches for skew in skews)
    per_feature = {
        f"{name}.{skew.feature}": {
            "compared": skew.compared,
            "mismatch_share": skew.mismatch_share,
            "max_abs_difference": skew.max_abs_difference,
            "examples": skew.examples,
        }
        for name, per_table in results.items()
        for skew in per_table
    }
    yield MaterializeResult(
        metadata={
            "mismatches": mismatches,
            "values_compared": sum(skew.compared for skew in skews),
            "skew": MetadataValue.md(skew_table(results)),
            "per_feature": MetadataValue.json(per_feature),
            "last_pushed_day": MetadataValue.json(last_days),
        }
    )
    yield AssetCheckResult(
        asset_key=SKEW_KEY,
        check_name=SKEW_CHECK,
        passed=mismatches == 0,
        metadata={
            "mismatches": mismatches,
            "mismatching": MetadataValue.json(
                {key: value for key, value in per_feature.items() if value["examples"]}
            ),
        },
    )


PERFORMANCE_KEY = AssetKey(["monitoring", "model_performance"])
PERFORMANCE_TABLE = table_path(PERFORMANCE_KEY)
PERFORMANCE_CHECK = "no_significant_performance_drop"


class PerformanceConfig(LabelTimingConfig):
    alert_rate: float = Field(default=0.01, gt=0, le=1)
    min_drop: float = Field(default=0.02, ge=0, description="ROC-AUC drop never alerted")
    z: float = Field(default=2.0, gt=0, description="standard errors a drop must exceed")


@asset(
    key=PERFORMANCE_KEY,
    group_name=MONITORING_GROUP,
    partitions_def=daily_partitions,
    deps=[silver_key(TRANSACTIONS), silver_key(CHARGEBACKS), MODEL_KEY],
    kinds={"delta", "mlflow", "scikitlearn"},
    check_specs=[
        AssetCheckSpec(
            PERFORMANCE_CHECK,
            asset=PERFORMANCE_KEY,
            partitions_def=daily_partitions,
            description="the day's ROC-AUC is not significantly below the champion's ROC-AUC "
            "at training (Hanley-McNeil standard error on the day's counts)",
        )
    ],
    description="Once a day's labels have matured: the champion's ROC-AUC, PR-AUC and "
    "precision/recall at the alert rate on that day, against its evaluation at training.",
)
def model_performance(
    context: AssetExecutionContext,
    config: PerformanceConfig,
    lake: LakeResource,
    feast: FeastResource,
    tracking: TrackingResource,
):
    day = date.fromisoformat(context.partition_key)
    versions = current_input_versions(lake)
    cutoff = config.cutoff(lake, versions)
    matures = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(
        days=config.maturity_days
    )
    if matures > cutoff:
        raise Failure(
            f"the labels of {day} are not mature at {cutoff.isoformat()}: every payment of the "
            f"day is mature from {matures.isoformat()} (maturity_days={config.maturity_days})"
        )
    window = LabelWindow(day, day, cutoff, config.maturity_days)
    labels = compute_labels(lake, window, versions).to_pandas()
    known = labels[labels["label_status"].isin(KNOWN_STATUSES)][["transaction_id", "label"]]
    champion = load_champion(tracking)
    rows = day_rows(lake, feast, champion, day).merge(known, on="transaction_id", how="inner")
    label_values = rows["label"].astype(int).to_numpy()
    frauds, legit = int(label_values.sum()), int((label_values == 0).sum())
    if frauds == 0 or legit == 0:
        raise Failure(f"{day}: {frauds} frauds, {legit} legit labelled payments: need both")
    metrics = evaluate(label_values, rows[SCORE_COLUMN].to_numpy(), config.alert_rate)
    training = tracking.client().get_run(champion.run_id).data.metrics
    verdict = judge_drop(
        metrics["roc_auc"], frauds, legit, training["roc_auc"], DropRule(config.min_drop, config.z)
    )
    record = pa.table(
        {
            "event_date": pa.array([day], pa.date32()),
            "label_cutoff": [cutoff.isoformat()],
            "champion_version": [champion.version],
            "frauds": [frauds],
            "legit": [legit],
            **{name: [float(value)] for name, value in metrics.items()},
            **{f"training_{name}": [float(training[name])] for name in TRAINING_METRICS},
            "roc_auc_drop": [verdict.drop],
            "roc_auc_standard_error": [verdict.standard_error],
            "significant_drop": [verdict.significant],
        }
    )
    version = lake.replace_partition(PERFORMANCE_TABLE, record, "event_date", day)
    comparison = {
        name: {"day": metrics[name], "training": training[name]} for name in TRAINING_METRICS
    }
    yield MaterializeResult(
        metadata={
            **{name: MetadataValue.float(float(value)) for name, value in metrics.items()},
            **{f"training_{name}": float(training[name]) for name in TRAINING_METRICS},
            "frauds": frauds,
            "legit": legit,
            "label_cutoff": cutoff.isoformat(),
            "champion_version": champion.version,
            "comparison": MetadataValue.json(comparison),
            "delta_version": version,
        }
    )
    yield AssetCheckResult(
        asset_key=PERFORMANCE_KEY,
        check_name=PERFORMANCE_CHECK,
        passed=not verdict.significant,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "reason": verdict.reason,
            "roc_auc_drop": verdict.drop,
            "threshold": verdict.threshold,
            "standard_error": verdict.standard_error,
        },
    )


TRAINING_METRICS = ("roc_auc", "pr_auc", "precision_at_alert_rate", "recall_at_alert_rate")
MONITORING_ASSETS = [drift_report, training_serving_skew, model_performance]
