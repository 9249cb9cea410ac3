"""Pandera schemas of the feature tables: types, nullability and ranges, validated before a
partition is committed. The point-in-time rules are a check of their own (`point_in_time`)."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from platform_assets.lake.schemas import Day, Float, Integer, Text, UtcTime

# Half the Earth's circumference: no two points are further apart.
MAX_DISTANCE_KM = 20_038.0
MAX_PREVIOUS_GAP_SECONDS = 7 * 24 * 3600.0

NON_NEGATIVE = {"ge": 0}


class FeatureRow(pa.DataFrameModel):
    """What every feature table has: the transaction it describes and its timestamps."""

    transaction_id: Series[Text] = pa.Field(unique=True)
    event_timestamp: Series[UtcTime]
    created_timestamp: Series[UtcTime]
    event_date: Series[Day]
    inputs_as_of: Series[UtcTime] = pa.Field(nullable=True)


class UserFeatures(FeatureRow):
    user_id: Series[Text]
    user_txn_count_1h: Series[Integer] = pa.Field(**NON_NEGATIVE)
    user_txn_count_24h: Series[Integer] = pa.Field(**NON_NEGATIVE)
    user_txn_count_7d: Series[Integer] = pa.Field(**NON_NEGATIVE)
    user_amount_sum_24h: Series[Float] = pa.Field(**NON_NEGATIVE)
    user_amount_mean_7d: Series[Float] = pa.Field(nullable=True, gt=0)
    user_distinct_merchants_24h: Series[Integer] = pa.Field(**NON_NEGATIVE)
    user_seconds_since_prev_txn: Series[Float] = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": MAX_PREVIOUS_GAP_SECONDS}
    )
    user_km_from_prev_txn: Series[Float] = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": MAX_DISTANCE_KM}
    )
    user_velocity_kmh: Series[Float] = pa.Field(nullable=True, **NON_NEGATIVE)

    @pa.dataframe_check(name="user_txn_count:nested_windows")
    def windows_nest(cls, frame: pd.DataFrame) -> pd.Series:
        return (frame["user_txn_count_1h"] <= frame["user_txn_count_24h"]) & (
            frame["user_txn_count_24h"] <= frame["user_txn_count_7d"]
        )

    @pa.dataframe_check(name="user_distinct_merchants_24h:at_most_count")
    def distinct_at_most_count(cls, frame: pd.DataFrame) -> pd.Series:
        return frame["user_distinct_merchants_24h"] <= frame["user_txn_count_24h"]

    @pa.dataframe_check(name="user_amount_mean_7d:null_iff_empty")
    def mean_null_iff_empty(cls, frame: pd.DataFrame) -> pd.Series:
        return frame["user_amount_mean_7d"].isna() == (frame["user_txn_count_7d"] == 0)

    class Config:
        strict = True


class MerchantFeatures(FeatureRow):
    merchant_id: Series[Text]
    merchant_txn_count_24h: Series[Integer] = pa.Field(**NON_NEGATIVE)
    merchant_txn_count_30d: Series[Integer] = pa.Field(**NON_NEGATIVE)
    merchant_chargebacks_known_30d: Series[Integer] = pa.Field(**NON_NEGATIVE)
    merchant_fraud_rate_30d: Series[Float] = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}
    )

    @pa.dataframe_check(name="merchant_txn_count:nested_windows")
    def windows_nest(cls, frame: pd.DataFrame) -> pd.Series:
        return frame["merchant_txn_count_24h"] <= frame["merchant_txn_count_30d"]

    @pa.dataframe_check(name="merchant_chargebacks_known_30d:at_most_count")
    def chargebacks_at_most_count(cls, frame: pd.DataFrame) -> pd.Series:
        return frame["merchant_chargebacks_known_30d"] <= frame["merchant_txn_count_30d"]

    @pa.dataframe_check(name="merchant_fraud_rate_30d:null_iff_empty")
    def rate_null_iff_empty(cls, frame: pd.DataFrame) -> pd.Series:
        return frame["merchant_fraud_rate_30d"].isna() == (frame["merchant_txn_count_30d"] == 0)

    class Config:
        strict = True
