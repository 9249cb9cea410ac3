"""The request-time features of the on-demand view `transaction_context`, run as Feast runs
them: the transformation of the view loaded from feature_repo/."""

import math

import pandas as pd
import pytest

from platform_assets.feature_store.registry import load_definitions
from platform_assets.feature_store.repo import FEATURE_REPO


@pytest.fixture(scope="module")
def transaction_context():
    (view,) = load_definitions(FEATURE_REPO).on_demand_feature_views
    assert view.name == "transaction_context"
    return view.feature_transformation.udf


def features(transaction_context, amount, mean, when) -> pd.Series:
    inputs = pd.DataFrame(
        {
            "amount": [amount],
            "user_amount_mean_7d": [mean],
            "transaction_time": [pd.Timestamp(when)],
        }
    )
    return transaction_context(inputs).iloc[0]


def test_amount_against_the_users_mean(transaction_context):
    assert (
        features(transaction_context, 30.0, 20.0, "2024-01-01T12:00Z")["amount_to_user_mean_7d"]
        == 1.5
    )


@pytest.mark.parametrize("mean", [None, 0.0])
def test_no_ratio_without_a_positive_mean(transaction_context, mean):
    assert math.isnan(
        features(transaction_context, 30.0, mean, "2024-01-01T12:00Z")["amount_to_user_mean_7d"]
    )


@pytest.mark.parametrize(
    ("when", "sin", "cos"),
    [
        ("2024-01-01T00:00Z", 0.0, 1.0),
        ("2024-01-01T06:00Z", 1.0, 0.0),
        ("2024-01-01T12:00Z", 0.0, -1.0),
        ("2024-01-01T18:00Z", -1.0, 0.0),
        # the clock is read in UTC whatever the zone of the timestamp
        ("2024-01-01T07:00+01:00", 1.0, 0.0),
    ],
)
def test_hour_on_the_unit_circle(transaction_context, when, sin, cos):
    row = features(transaction_context, 1.0, 1.0, when)
    assert row["hour_sin"] == pytest.approx(sin, abs=1e-12)
    assert row["hour_cos"] == pytest.approx(cos, abs=1e-12)


def test_midnight_neighbours_are_close(transaction_context):
    before, after = (
        features(transaction_context, 1.0, 1.0, "2024-01-01T23:59Z"),
        features(transaction_context, 1.0, 1.0, "2024-01-02T00:01Z"),
    )
    distance = math.dist(
        (before["hour_sin"], before["hour_cos"]), (after["hour_sin"], after["hour_cos"])
    )
    assert distance < 0.01
