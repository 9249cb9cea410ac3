"""Request-time features: one definition, run by Feast in training and in serving alike.

The transformation is written in `platform_assets` (unit-tested there); Feast stores its
source in the registry, so training (`get_historical_features`) and serving (`feast serve`,
`get_online_features`) run the very same code.
"""

from feast.field import Field
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64

from platform_assets.feature_store.request_features import (
    transaction_context as compute_transaction_context,
)

from data_sources import transaction_request
from feature_views import user_features

transaction_context = on_demand_feature_view(
    sources=[user_features[["user_amount_mean_7d"]], transaction_request],
    schema=[
        Field(name="amount_to_user_mean_7d", dtype=Float64),
        Field(name="hour_sin", dtype=Float64),
        Field(name="hour_cos", dtype=Float64),
    ],
    mode="pandas",
    description="The payment's amount against the user's 7-day mean, and its hour of day "
    "(UTC) on the unit circle so 23:59 sits next to 00:00.",
)(compute_transaction_context)
