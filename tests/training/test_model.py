"""Model helpers: the time split, alert-rate metrics, the promotion rule, the content hash."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from platform_assets.training.model import NotTrainable, decide, evaluate, split_by_time
from platform_assets.training.training_set import TrainingSetRecipe, content_hash, label_leaks


def training_rows(labels_per_day: list[list[int]]) -> pa.Table:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        {
            "transaction_id": f"t{day}-{n}",
            "event_timestamp": start + timedelta(days=day, minutes=n),
            "label": label,
            "x": float(label),
        }
        for day, labels in enumerate(labels_per_day)
        for n, label in enumerate(labels)
    ]
    return pa.Table.from_pylist(rows)


def test_split_holds_out_the_last_days():
    split = split_by_time(training_rows([[0, 1], [1, 0], [0, 1, 0]]), evaluation_days=1)
    assert split.train_days == ["2024-01-01", "2024-01-02"]
    assert split.evaluation_days == ["2024-01-03"]
    assert len(split.train) == 4
    assert len(split.evaluation) == 3


@pytest.mark.parametrize("labels", [[[0, 1], [0, 0]], [[0, 0], [0, 1]], [[0, 1]], [[0, 1], [1, 1]]])
def test_split_refuses_a_side_without_both_classes(labels):
    with pytest.raises(NotTrainable):
        split_by_time(training_rows(labels), evaluation_days=1)


def test_metrics_at_the_alert_rate():
    labels = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05])
    metrics = evaluate(labels, scores, alert_rate=0.2)  # 2 alerts: 0.9 (fraud), 0.8 (legit)
    assert metrics["alerts"] == 2
    assert metrics["precision_at_alert_rate"] == 0.5
    assert metrics["recall_at_alert_rate"] == pytest.approx(1 / 3)
    assert 0.5 < metrics["roc_auc"] < 1


def test_promotion_needs_a_strictly_better_challenger():
    assert decide(0.4, None).promoted
    assert decide(0.5, ("3", 0.4)).promoted
    assert not decide(0.4, ("3", 0.4)).promoted
    kept = decide(0.3, ("3", 0.4))
    assert not kept.promoted
    assert kept.tags()["champion.previous_version"] == "3"
    assert kept.tags()["champion.decision"] == "kept"
    incomparable = decide(0.9, ("3", None))
    assert not incomparable.promoted
    assert "cannot be compared" in incomparable.reason


def test_content_hash_sees_content_not_layout():
    table = pa.table(
        {
            "transaction_id": ["a", "b", "c"],
            "x": pa.array([0.0, None, 2.5]),
            "n": pa.array([1, None, 3], pa.int64()),
        }
    )
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=1))
    assert content_hash(rechunked) == content_hash(table)
    large = table.set_column(0, "transaction_id", table["transaction_id"].cast(pa.large_string()))
    assert content_hash(large) == content_hash(table)
    negative_zero = table.set_column(1, "x", pa.array([-0.0, None, 2.5]))
    assert content_hash(negative_zero) == content_hash(table)
    for changed in (
        table.set_column(1, "x", pa.array([0.0, 0.0, 2.5])),  # null is not 0
        table.set_column(2, "n", pa.array([1, 2, 3], pa.int64())),
        table.set_column(0, "transaction_id", pa.array(["a", "b", "d"])),
        table.select(["x", "transaction_id", "n"]),
    ):
        assert content_hash(changed) != content_hash(table)


def test_label_leaks_are_named():
    recipe = TrainingSetRecipe(
        feature_service="s",
        label_window={},
        silver_versions={},
        feature_versions={},
        feature_columns=["x", "label_status", "copy"],
        registry_hash="",
    )
    rows = pa.table(
        {
            "label": pa.array([0, 1, 0], pa.int64()),
            "x": [0.3, 0.1, 0.2],
            "label_status": ["legit", "fraud", "legit"],
            "copy": pa.array([0, 1, 0], pa.int64()),
        }
    )
    assert label_leaks(rows, recipe) == [
        "feature `label_status` is a label column",
        "feature `copy` equals the label",
    ]
