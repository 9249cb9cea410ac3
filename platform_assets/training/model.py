"""The fraud classifier: time-based split, training, evaluation, plots, MLflow logging,
registration and champion/challenger promotion.

The model is scikit-learn's `HistGradientBoostingClassifier`: it takes missing feature
values as they come (a user without history has no 7-day mean), needs no scaling, and is
deterministic for a fixed `random_state`.

Split by time, never at random: the model is trained on the earlier days of the training
set and evaluated on its last `evaluation_days` days, as it would be used (on payments after
the ones it learnt from).

Promotion compares PR-AUC (average precision), not ROC-AUC: with about 1% fraud, ROC-AUC is
dominated by how the many legitimate payments are ordered among themselves, while the fraud
team only ever looks at the top of the ranking (the alerts); PR-AUC measures exactly that
region. Champion and challenger are scored on the same evaluation window (the challenger's),
and the challenger becomes `champion` only if it is strictly better: a tie keeps the model
already serving.

scikit-learn, MLflow and matplotlib are imported by the functions that use them, not with
this module: every Dagster step process loads the code location, and together they take
seconds to import.
"""

import base64
import io
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from platform_assets.training.training_set import LABEL

MODEL_NAME = "fraud_classifier"
CHAMPION = "champion"
PROMOTION_METRIC = "pr_auc"
# MLflow saves scikit-learn models with skops, which loads only types it is told to trust.
# The boosted trees' node arrays are the one type outside its defaults; these files are the
# platform's own.
SKOPS_TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


@dataclass(frozen=True)
class ModelSettings:
    evaluation_days: int = 1
    alert_rate: float = 0.01
    max_iter: int = 200
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    random_state: int = 0

    def params(self) -> dict[str, object]:
        return {
            "evaluation_days": self.evaluation_days,
            "alert_rate": self.alert_rate,
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_leaf_nodes": self.max_leaf_nodes,
            "random_state": self.random_state,
        }


class NotTrainable(ValueError):
    """The training set cannot give a model and a meaningful evaluation (e.g. no fraud label
    in the evaluation days)."""


@dataclass
class TimeSplit:
    train: pd.DataFrame
    evaluation: pd.DataFrame
    train_days: list[str]
    evaluation_days: list[str]


def split_by_time(training_set: pa.Table, evaluation_days: int) -> TimeSplit:
    """The last `evaluation_days` UTC days of the set for evaluation, the earlier ones for
    training. Refuses a split without both classes on either side."""
    frame = training_set.to_pandas()
    day = frame["event_timestamp"].dt.strftime("%Y-%m-%d")
    days = sorted(day.unique())
    if len(days) <= evaluation_days:
        raise NotTrainable(
            f"the training set spans {len(days)} day(s) with labels; need more than the "
            f"{evaluation_days} evaluation day(s)"
        )
    held_out = days[-evaluation_days:]
    split = TimeSplit(
        train=frame[~day.isin(held_out)],
        evaluation=frame[day.isin(held_out)],
        train_days=days[:-evaluation_days],
        evaluation_days=held_out,
    )
    for name, part in (("training", split.train), ("evaluation", split.evaluation)):
        positives = int(part[LABEL].sum())
        if positives == 0 or positives == len(part):
            raise NotTrainable(
                f"the {name} days have {positives} fraud label(s) among {len(part)} rows; "
                "both classes are needed (widen the window or lower maturity_days)"
            )
    return split


def feature_matrix(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """Features as float64: an integer feature with a missing value would otherwise change
    type from one window to the next, and the model's signature with it."""
    return frame[features].astype("float64")


def fit(split: TimeSplit, features: list[str], settings: ModelSettings):
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        random_state=settings.random_state,
    )
    return model.fit(feature_matrix(split.train, features), split.train[LABEL].to_numpy())


def fraud_scores(model, frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    return model.predict_proba(feature_matrix(frame, features))[:, 1]


def evaluate(labels: np.ndarray, scores: np.ndarray, alert_rate: float) -> dict[str, float]:
    """ROC-AUC, PR-AUC, and precision and recall when the top `alert_rate` share of
    payments (by score) raise an alert."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    alerts = max(1, math.ceil(alert_rate * len(scores)))
    # stable order: among equal scores, the earlier row (by transaction_id) alerts first
    top = np.argsort(-scores, kind="stable")[:alerts]
    caught = int(labels[top].sum())
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
        "precision_at_alert_rate": caught / alerts,
        "recall_at_alert_rate": caught / int(labels.sum()),
        "alerts": float(alerts),
    }


def calibration_png(labels: np.ndarray, scores: np.ndarray) -> bytes:
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(labels, scores, n_bins=10, strategy="quantile")
    figure, axes = _pyplot().subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    axes.plot(predicted, observed, marker="o", label="model")
    axes.set(
        xlabel="mean predicted fraud probability",
        ylabel="observed fraud rate",
        title="Calibration on the evaluation days (quantile bins)",
    )
    axes.legend(loc="upper left")
    return _png(figure)


def importance(model, frame: pd.DataFrame, features: list[str]) -> pd.Series:
    """Permutation importance on the evaluation days: the PR-AUC lost when a feature's
    values are shuffled (mean of 5 shuffles)."""
    from sklearn.inspection import permutation_importance

    result = permutation_importance(
        model,
        feature_matrix(frame, features),
        frame[LABEL].to_numpy(),
        scoring="average_precision",
        n_repeats=5,
        random_state=0,
    )
    return pd.Series(result.importances_mean, index=features).sort_values()


def importance_png(importances: pd.Series) -> bytes:
    figure, axes = _pyplot().subplots(figsize=(7, 0.35 * len(importances) + 1.5))
    axes.barh(importances.index, importances.to_numpy())
    axes.set(
        xlabel="PR-AUC lost when shuffled",
        title="Permutation importance on the evaluation days",
    )
    return _png(figure)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    _pyplot().close(figure)
    return buffer.getvalue()


def _pyplot():
    """matplotlib's pyplot, drawing to files only, never a window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def markdown_image(png: bytes, title: str) -> str:
    return f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})"


@dataclass
class Promotion:
    promoted: bool
    reason: str
    champion_version: str | None = None
    champion_score: float | None = None

    def tags(self) -> dict[str, str]:
        tags = {
            "champion.decision": "promoted" if self.promoted else "kept",
            "champion.reason": self.reason,
        }
        if self.champion_version is not None:
            tags["champion.previous_version"] = self.champion_version
        if self.champion_score is not None:
            tags[f"champion.previous_{PROMOTION_METRIC}"] = f"{self.champion_score:.6f}"
        return tags


def champion_score(
    client, name: str, evaluation: pd.DataFrame, alert_rate: float
) -> tuple[str, float | None] | None:
    """The current champion's version and its promotion metric on `evaluation` (None if it
    needs features the evaluation rows lack), or None when there is no champion yet. Runs
    with the fluent API pointed at the store (`TrackingResource.fluent_api`)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None
    champion = mlflow.sklearn.load_model(f"models:/{name}@{CHAMPION}")
    features = list(champion.feature_names_in_)
    if not set(features) <= set(evaluation.columns):
        return version.version, None
    scores = fraud_scores(champion, evaluation, features)
    labels = evaluation[LABEL].to_numpy()
    return version.version, evaluate(labels, scores, alert_rate)[PROMOTION_METRIC]


def decide(challenger: float, champion: tuple[str, float | None] | None) -> Promotion:
    if champion is None:
        return Promotion(True, "no champion yet")
    version, score = champion
    if score is None:
        return Promotion(
            False,
            "the champion needs features this training set lacks, so the two cannot be "
            "compared on the same rows: promote by hand if wanted",
            version,
        )
    if challenger > score:
        return Promotion(
            True, f"{PROMOTION_METRIC} {challenger:.4f} > champion's {score:.4f}", version, score
        )
    return Promotion(
        False, f"{PROMOTION_METRIC} {challenger:.4f} <= champion's {score:.4f}", version, score
    )


@dataclass
class TrainedModel:
    run_id: str
    model_version: str
    metrics: dict[str, float]
    promotion: Promotion
    split: TimeSplit
    calibration_png: bytes
    importance_png: bytes
    importances: pd.Series = field(repr=False)


def train_and_log(
    tracking,
    training_set: pa.Table,
    features: list[str],
    settings: ModelSettings,
    experiment: str,
    run_name: str,
    params: dict[str, object],
    tags: dict[str, str],
    artifacts: dict[str, str],
) -> TrainedModel:
    """Train on the earlier days, evaluate on the later ones, log everything to one MLflow
    run of `experiment` (params, metrics, plots, the model with signature and input example,
    `artifacts` as text files, `tags`), register the model as `fraud_classifier` and make it
    `champion` if it beats the current one on the same evaluation days."""
    import mlflow
    from mlflow.models import infer_signature

    split = split_by_time(training_set, settings.evaluation_days)
    model = fit(split, features, settings)
    labels = split.evaluation[LABEL].to_numpy()
    scores = fraud_scores(model, split.evaluation, features)
    metrics = {
        **evaluate(labels, scores, settings.alert_rate),
        "train_rows": float(len(split.train)),
        "train_frauds": float(split.train[LABEL].sum()),
        "evaluation_rows": float(len(split.evaluation)),
        "evaluation_frauds": float(labels.sum()),
    }
    calibration = calibration_png(labels, scores)
    importances = importance(model, split.evaluation, features)
    importance_plot = importance_png(importances)
    example = feature_matrix(split.train, features).head(5)
    with tracking.active_run(experiment, run_name, tags) as run:
        mlflow.log_params(
            {
                **settings.params(),
                **params,
                "train_days": f"{split.train_days[0]}..{split.train_days[-1]}",
                "evaluation_days_range": f"{split.evaluation_days[0]}..{split.evaluation_days[-1]}",
                "features": len(features),
            }
        )
        mlflow.log_metrics(metrics)
        _log_png(calibration, "plots/calibration.png")
        _log_png(importance_plot, "plots/feature_importance.png")
        mlflow.log_dict(
            importances.sort_values(ascending=False).to_dict(), "feature_importance.json"
        )
        for name, text in artifacts.items():
            mlflow.log_text(text, name)
        model_info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(example, model.predict_proba(example)[:, 1]),
            input_example=example,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        client = mlflow.MlflowClient()
        promotion = decide(
            metrics[PROMOTION_METRIC],
            champion_score(client, MODEL_NAME, split.evaluation, settings.alert_rate),
        )
        registered = mlflow.register_model(model_info.model_uri, MODEL_NAME, tags=tags)
        if promotion.promoted:
            client.set_registered_model_alias(MODEL_NAME, CHAMPION, registered.version)
        mlflow.set_tags(promotion.tags())
        for key, value in promotion.tags().items():
            client.set_model_version_tag(MODEL_NAME, registered.version, key, value)
    return TrainedModel(
        run_id=run.info.run_id,
        model_version=str(registered.version),
        metrics=metrics,
        promotion=promotion,
        split=split,
        calibration_png=calibration,
        importance_png=importance_plot,
        importances=importances,
    )


def _log_png(png: bytes, artifact_file: str) -> None:
    import mlflow

    folder, _, name = artifact_file.rpartition("/")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / name
        path.write_bytes(png)
        mlflow.log_artifact(str(path), artifact_path=folder or None)
