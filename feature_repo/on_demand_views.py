"""Request-time features: one definition, run by Feast in training and in serving alike.

Feast stores the function's source in the registry and rebuilds it in every reader
(`get_historical_features`, `get_online_features`, `feast serve`), without this module's
globals: the function is self-contained, imports included.
"""

import pandas as pd
from feast.field import Field
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64

from data_sources import transaction_request
from feature_views import user_features


@on_demand_feature_view(
    sources=[user_features[["user_amount_mean_7d"]], transaction_request],
    schema=[
        Field(name="amount_to_user_mean_7d", dtype=Float64),
        Field(name="hour_sin", dtype=Float64),
        Field(name="hour_cos", dtype=Float64),
    ],
    mode="pandas",
    description="The payment's amount against the user's 7-day mean, and its hour of day "
    "(UTC) on the unit circle so 23:59 sits next to 00:00.",
)
def transaction_context(inputs: pd.DataFrame) -> pd.DataFrame:
    """`amount` over the user's 7-day mean (null without history or a zero mean) and the
    UTC time of day of `transaction_time` as a point on the unit circle."""
    import numpy as np
    import pandas as pd

    mean = inputs["user_amount_mean_7d"].astype("float64")
    ratio = inputs["amount"].astype("float64") / mean.where(mean > 0)
    when = pd.to_datetime(inputs["transaction_time"], utc=True)
    seconds_into_day = (when - when.dt.normalize()).dt.total_seconds().to_numpy()
    angle = 2 * np.pi * seconds_into_day / (24 * 3600)
    return pd.DataFrame(
        {
            "amount_to_user_mean_7d": ratio.to_numpy(),
            "hour_sin": np.sin(angle),
            "hour_cos": np.cos(angle),
        },
        index=inputs.index,
    )
