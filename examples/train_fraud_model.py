"""Train the fraud model outside Dagster, as a data scientist would in a notebook or script.

Reads the silver tables with `deltalake`, labels the payments as known at a cutoff (the
platform's rule, `platform_assets.training.labels`), asks Feast for the point-in-time
features of the `fraud_model_v2` service, trains on the earlier days, evaluates on the last
one, and logs the run to MLflow. After `make demo`, from the repository root:

    .venv/bin/python examples/train_fraud_model.py

Every location has a flag (`--help`); the defaults are the local profile's.
"""

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

import mlflow
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from feast import FeatureStore
from mlflow.models import infer_signature

from platform_assets.training.labels import (
    CHARGEBACK_COLUMNS,
    ENTITY_COLUMNS,
    KNOWN_STATUSES,
    TRANSACTION_COLUMNS,
    LabelWindow,
    default_cutoff,
    label_transactions,
)
from platform_assets.training.model import (
    SKOPS_TRUSTED_TYPES,
    ModelSettings,
    evaluate,
    feature_matrix,
    fit,
    fraud_scores,
    split_by_time,
)

ROOT = Path(__file__).resolve().parent.parent
FEATURE_SERVICE = "fraud_model_v2"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", default=str(ROOT / "data" / "lake"))
    parser.add_argument("--feature-repo", default=str(ROOT / "feature_repo"))
    parser.add_argument("--feature-store-yaml", default=None, help="default: the repo's own")
    parser.add_argument("--tracking-uri", default=f"sqlite:///{ROOT / 'data/mlflow/mlflow.db'}")
    parser.add_argument("--artifacts", default=str(ROOT / "data" / "mlflow" / "examples"))
    parser.add_argument("--experiment", default="fraud_model_examples")
    parser.add_argument("--first-day", type=date.fromisoformat, default=None)
    parser.add_argument("--last-day", type=date.fromisoformat, default=None)
    parser.add_argument("--label-cutoff", type=datetime.fromisoformat, default=None)
    parser.add_argument("--maturity-days", type=float, default=30.0)
    parser.add_argument("--evaluation-days", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)

    # 1. Silver payments and chargebacks, straight from the Delta tables.
    transactions = DeltaTable(f"{args.lake}/silver/transactions").to_pyarrow_dataset()
    chargebacks = (
        DeltaTable(f"{args.lake}/silver/chargebacks")
        .to_pyarrow_dataset()
        .to_table(columns=list(CHARGEBACK_COLUMNS))
    )
    days = transactions.to_table(columns=["event_date"])["event_date"]
    window = LabelWindow(
        first_day=args.first_day or pc.min(days).as_py(),
        last_day=args.last_day or pc.max(days).as_py(),
        cutoff=args.label_cutoff or default_cutoff(chargebacks) or datetime.now(UTC),
        maturity_days=args.maturity_days,
    )

    # 2. The entity frame: labelled payments with what the features are keyed and timed by.
    labels = label_transactions(
        transactions.to_table(columns=list(TRANSACTION_COLUMNS)), chargebacks, window
    )
    known = labels.filter(pc.field("label_status").isin(list(KNOWN_STATUSES)))
    entity_df = known.select([*ENTITY_COLUMNS, "label"]).to_pandas()

    # 3. Point-in-time features of the model's feature service, from Feast.
    yaml = Path(args.feature_store_yaml) if args.feature_store_yaml else None
    store = FeatureStore(repo_path=args.feature_repo, fs_yaml_file=yaml)
    service = store.get_feature_service(FEATURE_SERVICE)
    training_df = store.get_historical_features(entity_df=entity_df, features=service).to_df()
    features = [
        feature.name
        for projection in service.feature_view_projections
        for feature in projection.features
    ]

    # 4. Train on the earlier days, evaluate on the last ones.
    split = split_by_time(
        pa.Table.from_pandas(training_df, preserve_index=False), args.evaluation_days
    )
    settings = ModelSettings(evaluation_days=args.evaluation_days)
    model = fit(split, features, settings)
    scores = fraud_scores(model, split.evaluation, features)
    metrics = evaluate(split.evaluation["label"].to_numpy(), scores, settings.alert_rate)

    # 5. Log the run to MLflow.
    mlflow.set_tracking_uri(args.tracking_uri)
    if mlflow.get_experiment_by_name(args.experiment) is None:
        Path(args.artifacts).mkdir(parents=True, exist_ok=True)
        mlflow.create_experiment(args.experiment, Path(args.artifacts).resolve().as_uri())
    mlflow.set_experiment(args.experiment)
    with mlflow.start_run(run_name="example: fraud_model_v2") as run:
        mlflow.log_params({**settings.params(), **window.to_json()})
        mlflow.log_param("feature_service", FEATURE_SERVICE)
        mlflow.log_metrics(metrics)
        example = feature_matrix(split.train, features).head(5)
        mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(example, model.predict_proba(example)[:, 1]),
            input_example=example,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    print(
        f"{len(training_df):,} labelled payments, ROC-AUC {metrics['roc_auc']:.3f}, "
        f"PR-AUC {metrics['pr_auc']:.3f} on {', '.join(split.evaluation_days)}; "
        f"MLflow run {run.info.run_id}"
    )
    return {"training_df": training_df, "metrics": metrics, "run_id": run.info.run_id}


if __name__ == "__main__":
    main()
