"""Request-time features of a payment (Feast on-demand view `transaction_context`)."""

import pandas as pd


def transaction_context(inputs: pd.DataFrame) -> pd.DataFrame:
    """`amount` over the user's 7-day mean (null without history or a zero mean) and the
    UTC time of day of `transaction_time` as a point on the unit circle.

    Self-contained on purpose: Feast stores this function's source in the registry and
    rebuilds it from there in every reader, without this module's globals.
    """
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
