"""The drift rules on generated payments, judged by the generator's ground truth.

For each of 20 seeds the generator writes 6 days with drift injected from the 5th: days 1-3
are the reference, day 4 is a clean day (a false alarm if anything is critical), days 5 and 6
are drifted (the ground truth names the drifted columns). Columns are the payment's own fields,
as the model's request features and the drift report's categorical inputs see them.
"""

import tempfile
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from fraud_generator import GeneratorConfig, generate
from platform_assets.monitoring.drift import (
    CRITICAL,
    OK,
    compute_reference,
    drift_metrics,
    worst_severity,
)

FIRST = date(2024, 1, 1)
DRIFT_FROM = FIRST + timedelta(days=4)
SEEDS = range(100, 120)
NUMERIC = ["amount", "hour", "location_lat", "location_lon"]
CATEGORICAL = ["payment_method", "merchant_category", "currency"]
# the generator's names for what it drifts -> the columns monitored here
TRUTH_COLUMNS = {"event_hour": "hour"}


def payments(truth) -> pd.DataFrame:
    rows = truth.transactions
    rows = rows[rows["expected_outcome"] == "silver"].copy()
    time = rows["event_time_utc"]
    rows["hour"] = time.dt.hour + time.dt.minute / 60
    return rows


@pytest.fixture(scope="module")
def judged_days() -> list[dict]:
    """Per seed: the ground truth's drift flags and the metrics of days 4, 5 and 6."""
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in SEEDS:
            truth = generate(
                GeneratorConfig(
                    out_dir=Path(folder) / str(seed),
                    start=FIRST,
                    days=6,
                    rows_per_day=2000,
                    seed=seed,
                    drift_from=DRIFT_FROM,
                )
            )
            rows = payments(truth)
            day = rows["partition_date"]
            reference = compute_reference(
                rows[day < FIRST + timedelta(days=3)], NUMERIC, CATEGORICAL, f"seed-{seed}"
            )
            out.append(
                {
                    "seed": seed,
                    "summary": truth.summary,
                    "days": {
                        current.isoformat(): drift_metrics(reference, rows[day == current])
                        for current in (FIRST + timedelta(days=n) for n in (3, 4, 5))
                    },
                }
            )
    return out


def test_at_most_one_critical_alert_over_20_clean_days(judged_days):
    clean_days = []
    for seed in judged_days:
        (clean,) = [
            day
            for day, metrics in seed["days"].items()
            if not seed["summary"]["per_day"][day]["drifted"]
        ]
        clean_days.append(worst_severity(seed["days"][clean]["severity"]))
    assert len(clean_days) == 20
    assert clean_days.count(CRITICAL) <= 1, clean_days


def test_drifted_columns_are_flagged_from_the_drift_date(judged_days):
    for seed in judged_days:
        summary = seed["summary"]
        assert summary["drift_from"] == DRIFT_FROM.isoformat()
        drifted = {TRUTH_COLUMNS.get(name, name) for name in summary["drifted_columns"]}
        drifted_days = [day for day in seed["days"] if summary["per_day"][day]["drifted"]]
        assert drifted_days == [DRIFT_FROM.isoformat(), (DRIFT_FROM + timedelta(1)).isoformat()]
        for day in drifted_days:
            severity = seed["days"][day].set_index("column")["severity"]
            flagged = set(severity.index[severity != OK])
            # every drifted column is flagged, nothing else, and the day raises an alert
            assert flagged == drifted, (seed["seed"], day, severity.to_dict())
            assert worst_severity(severity) == CRITICAL, (seed["seed"], day)


def test_clean_days_are_mostly_all_ok(judged_days):
    """Warnings are allowed on clean days, but rarely: at most 2 of 20 days have any."""
    warned = [
        seed["seed"]
        for seed in judged_days
        for day, metrics in seed["days"].items()
        if not seed["summary"]["per_day"][day]["drifted"] and (metrics["severity"] != OK).any()
    ]
    assert len(warned) <= 2, warned
