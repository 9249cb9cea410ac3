"""Pandera schemas of the feature tables: types, nullability and ranges, validated before a
partition is committed. The point-in-time rules are a check of their own (`point_in_time`).

Written with Pandera's object API (`DataFrameSchema`) and built once, at import. Not as
`DataFrameModel`s: turning a model into a schema calls `pandera.typing.get_index_types`,
which imports dask (installed here for other reasons) to learn its index type, 0.7-1.5 s
on the first validation of every run for nothing. Every check is vectorised: Arrow-backed
pandas columns compared whole, no row-wise Python.
"""

import pandas as pd
import pyarrow
from pandera.pandas import Check, Column, DataFrameSchema

# Half the Earth's circumference: no two points are further apart.
MAX_DISTANCE_KM = 20_038.0
MAX_PREVIOUS_GAP_SECONDS = 7 * 24 * 3600.0

TEXT = pd.ArrowDtype(pyarrow.string())
FLOAT = pd.ArrowDtype(pyarrow.float64())
INTEGER = pd.ArrowDtype(pyarrow.int64())
DAY = pd.ArrowDtype(pyarrow.date32())
UTC_TIME = pd.ArrowDtype(pyarrow.timestamp("us", tz="UTC"))


def _count() -> Column:
    return Column(INTEGER, Check.ge(0))


def _feature_row() -> dict[str, Column]:
    """What every feature table has: the transaction it describes and its timestamps."""
    return {
        "transaction_id": Column(TEXT, unique=True),
        "event_timestamp": Column(UTC_TIME),
        "created_timestamp": Column(UTC_TIME),
        "event_date": Column(DAY),
        "inputs_as_of": Column(UTC_TIME, nullable=True),
    }


USER_FEATURES_SCHEMA = DataFrameSchema(
    {
        **_feature_row(),
        "user_id": Column(TEXT),
        "user_txn_count_1h": _count(),
        "user_txn_count_24h": _count(),
        "user_txn_count_7d": _count(),
        "user_amount_sum_24h": Column(FLOAT, Check.ge(0)),
        "user_amount_mean_7d": Column(FLOAT, Check.gt(0), nullable=True),
        "user_distinct_merchants_24h": _count(),
        "user_seconds_since_prev_txn": Column(
            FLOAT, Check.in_range(0, MAX_PREVIOUS_GAP_SECONDS), nullable=True
        ),
        "user_km_from_prev_txn": Column(FLOAT, Check.in_range(0, MAX_DISTANCE_KM), nullable=True),
        "user_velocity_kmh": Column(FLOAT, Check.ge(0), nullable=True),
    },
    checks=[
        Check(
            lambda frame: (
                (frame["user_txn_count_1h"] <= frame["user_txn_count_24h"])
                & (frame["user_txn_count_24h"] <= frame["user_txn_count_7d"])
            ),
            name="user_txn_count:nested_windows",
        ),
        Check(
            lambda frame: frame["user_distinct_merchants_24h"] <= frame["user_txn_count_24h"],
            name="user_distinct_merchants_24h:at_most_count",
        ),
        Check(
            lambda frame: frame["user_amount_mean_7d"].isna() == (frame["user_txn_count_7d"] == 0),
            name="user_amount_mean_7d:null_iff_empty",
        ),
    ],
    strict=True,
    name="UserFeatures",
)

MERCHANT_FEATURES_SCHEMA = DataFrameSchema(
    {
        **_feature_row(),
        "merchant_id": Column(TEXT),
        "merchant_txn_count_24h": _count(),
        "merchant_txn_count_30d": _count(),
        "merchant_chargebacks_known_30d": _count(),
        "merchant_fraud_rate_30d": Column(FLOAT, Check.in_range(0, 1), nullable=True),
    },
    checks=[
        Check(
            lambda frame: frame["merchant_txn_count_24h"] <= frame["merchant_txn_count_30d"],
            name="merchant_txn_count:nested_windows",
        ),
        Check(
            lambda frame: (
                frame["merchant_chargebacks_known_30d"] <= frame["merchant_txn_count_30d"]
            ),
            name="merchant_chargebacks_known_30d:at_most_count",
        ),
        Check(
            lambda frame: (
                frame["merchant_fraud_rate_30d"].isna() == (frame["merchant_txn_count_30d"] == 0)
            ),
            name="merchant_fraud_rate_30d:null_iff_empty",
        ),
    ],
    strict=True,
    name="MerchantFeatures",
)
