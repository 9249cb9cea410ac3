"""The drift report leaves out feature values whose window reaches before the lake's first day,
checked row by row against the windows the feature tables declare."""

from datetime import date, timedelta

import numpy as np
import pandas as pd

from platform_assets.features.assets import MERCHANT_FEATURES, USER_FEATURES
from platform_assets.monitoring.assets import (
    WINDOW_DAYS,
    explain_unjudged_windows,
    without_partial_windows,
)
from platform_assets.monitoring.drift import compute_reference, drift_metrics

HISTORY_FROM = date(2024, 1, 1)


def payments(first: date, days: int, per_day: int, seed: int = 0) -> pd.DataFrame:
    """`per_day` payments a day at random times, with every windowed column (integers and
    floats) and a request-time column that has no window."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0, days * 86400, days * per_day))
    frame = pd.DataFrame(
        {
            "event_timestamp": pd.Timestamp(first, tz="UTC") + pd.to_timedelta(offsets, "s"),
            "hour_sin": rng.uniform(-1, 1, len(offsets)),
        }
    )
    for column in WINDOW_DAYS:
        frame[column] = rng.integers(0, 50, len(offsets))
    frame["user_amount_mean_7d"] = rng.lognormal(3, 1, len(offsets))
    return frame


def test_window_lengths_are_the_feature_tables_histories():
    assert WINDOW_DAYS["user_txn_count_7d"] == USER_FEATURES.history_days == 7
    assert WINDOW_DAYS["merchant_txn_count_30d"] == MERCHANT_FEATURES.history_days == 30
    assert "hour_sin" not in WINDOW_DAYS and "amount_to_user_mean_7d" not in WINDOW_DAYS


def test_values_before_their_window_is_covered_become_null_and_nothing_else_changes():
    frame = payments(HISTORY_FROM, days=40, per_day=20)
    masked = without_partial_windows(frame, HISTORY_FROM)
    assert len(masked) == len(frame)
    pd.testing.assert_series_equal(masked["hour_sin"], frame["hour_sin"])
    start = pd.Timestamp(HISTORY_FROM, tz="UTC")
    for column, days in WINDOW_DAYS.items():
        for i in range(len(frame)):
            partial = frame.at[i, "event_timestamp"] < start + pd.Timedelta(days=days)
            if partial:
                assert pd.isna(masked.at[i, column]), (column, i)
            else:
                assert masked.at[i, column] == frame.at[i, column], (column, i)
    # the caller's frame is left as it was
    assert frame[list(WINDOW_DAYS)].notna().all().all()


def test_a_lake_younger_than_a_window_leaves_that_column_unjudged_and_says_why():
    reference = without_partial_windows(payments(HISTORY_FROM, 9, 100), HISTORY_FROM)
    day = HISTORY_FROM + timedelta(days=10)
    current = without_partial_windows(payments(day, 1, 300, seed=1), HISTORY_FROM)
    numeric = ["hour_sin", *WINDOW_DAYS]
    metrics = drift_metrics(compute_reference(reference, numeric, [], "test"), current)
    metrics = explain_unjudged_windows(metrics, HISTORY_FROM).set_index("column")
    # 7-day windows: the reference keeps days 8-9, the day all its rows
    week = metrics.loc["user_txn_count_7d"]
    assert week["reference_rows"] == (reference["event_timestamp"].dt.day >= 8).sum()
    assert week["current_rows"] == 300
    assert not week["reason"].startswith("not judged")
    # 30-day windows: nothing on either side, and the reason names the date
    month = metrics.loc["merchant_txn_count_30d"]
    assert month["reference_rows"] == month["current_rows"] == 0
    assert month["severity"] == "ok"
    assert month["reason"].startswith("not judged")
    assert "values before 2024-01-31 are left out" in month["reason"]
    assert "30-day window reaches before the lake's first day, 2024-01-01" in month["reason"]
    assert metrics.loc["hour_sin", "reference_rows"] == len(reference)
