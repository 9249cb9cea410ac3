"""Drift from drift_from on: amounts, payment mix, category mix and hours shift."""

import numpy as np

from .conftest import DRIFT_FROM


def split_by_drift(truth):
    legit = truth.transactions[~truth.transactions.is_fraud]
    drifted = legit.partition_date >= DRIFT_FROM
    return legit[~drifted], legit[drifted]


def test_truth_records_the_drift(clean):
    summary = clean.summary
    assert summary["drift_from"] == DRIFT_FROM.isoformat()
    assert summary["drifted_columns"] == [
        "amount", "payment_method", "merchant_category", "event_hour",
    ]  # fmt: skip
    assert [day["drifted"] for day in summary["per_day"].values()] == [False, False, True, True]


def test_drift_shifts_amounts_and_mixes(clean):
    before, after = split_by_drift(clean)
    assert after.amount.median() / before.amount.median() > 1.35
    assert after.amount.mean() > before.amount.mean() * 1.3
    online = "payment_method == 'online'"
    assert len(after.query(online)) / len(after) > len(before.query(online)) / len(before) + 0.1
    digital = ["digital_goods", "electronics"]
    assert after.merchant_category.isin(digital).mean() > (
        before.merchant_category.isin(digital).mean() + 0.05
    )


def test_drift_shifts_the_hour_of_day(clean):
    before, after = split_by_drift(clean)
    hours = np.arange(24)
    share_before = before.event_time_utc.dt.hour.value_counts(normalize=True).reindex(hours)
    share_after = after.event_time_utc.dt.hour.value_counts(normalize=True).reindex(hours)
    assert (share_before - share_after).abs().sum() > 0.2  # total variation * 2
