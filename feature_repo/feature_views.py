"""Feature views over the platform's feature tables (definitions: docs/features.md)."""

from datetime import timedelta

from feast import FeatureView
from feast.field import Field
from feast.types import Float64, Int64

from data_sources import merchant_features_source, user_features_source
from entities import merchant, user

user_features = FeatureView(
    name="user_features",
    entities=[user],
    # The longest window is 7 days: an older row says nothing about the user's recent behaviour.
    ttl=timedelta(days=7),
    schema=[
        Field(name="user_txn_count_1h", dtype=Int64),
        Field(name="user_txn_count_24h", dtype=Int64),
        Field(name="user_txn_count_7d", dtype=Int64),
        Field(name="user_amount_sum_24h", dtype=Float64),
        Field(name="user_amount_mean_7d", dtype=Float64),
        Field(name="user_distinct_merchants_24h", dtype=Int64),
        Field(name="user_seconds_since_prev_txn", dtype=Float64),
        Field(name="user_km_from_prev_txn", dtype=Float64),
        Field(name="user_velocity_kmh", dtype=Float64),
    ],
    source=user_features_source,
    online=True,
    description="Card-holder behaviour before each transaction: counts, amounts, merchants, "
    "time and distance from the previous payment.",
    tags={"team": "fraud", "table": "features/user_features"},
)

merchant_features = FeatureView(
    name="merchant_features",
    entities=[merchant],
    ttl=timedelta(days=30),
    schema=[
        Field(name="merchant_txn_count_24h", dtype=Int64),
        Field(name="merchant_txn_count_30d", dtype=Int64),
        Field(name="merchant_chargebacks_known_30d", dtype=Int64),
        Field(name="merchant_fraud_rate_30d", dtype=Float64),
    ],
    source=merchant_features_source,
    online=True,
    description="Merchant traffic and its 30-day fraud rate from chargebacks already "
    "reported at the time (no label leakage).",
    tags={"team": "fraud", "table": "features/merchant_features"},
)
