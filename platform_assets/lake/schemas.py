"""Pandera schemas of the silver tables.

Frames are Arrow-backed pandas (`pd.ArrowDtype`), so converting a Delta batch costs no copy.
Every check has a short name: a quarantined row's reason is `<column>:<check name>`.
"""

from typing import Annotated

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
from pandera.typing import Series

Text = Annotated[pd.ArrowDtype, pyarrow.string()]
Float = Annotated[pd.ArrowDtype, pyarrow.float64()]
Integer = Annotated[pd.ArrowDtype, pyarrow.int64()]
Day = Annotated[pd.ArrowDtype, pyarrow.date32()]
UtcTime = Annotated[pd.ArrowDtype, pyarrow.timestamp("us", tz="UTC")]

CURRENCIES = ("EUR", "USD", "GBP")
PAYMENT_METHODS = ("chip", "contactless", "online", "swipe")
FUTURE_TOLERANCE = pd.Timedelta(minutes=5)


def _same_day(times: pd.Series, days: pd.Series) -> pd.Series:
    return times.astype(pd.ArrowDtype(pyarrow.date32())) == days


def _not_after_ingestion(times: pd.Series, ingested_at: pd.Series) -> pd.Series:
    return times <= ingested_at + FUTURE_TOLERANCE


class Lineage(pa.DataFrameModel):
    """Where each row came from: every silver table carries it."""

    source_file: Series[Text] = pa.Field(alias="_source_file")
    line: Series[Integer] = pa.Field(alias="_line", ge=1)
    ingested_at: Series[UtcTime] = pa.Field(alias="_ingested_at")


class SilverTransactions(Lineage):
    transaction_id: Series[Text] = pa.Field(unique=True)
    user_id: Series[Text]
    card_token: Series[Text]
    amount: Series[Float]
    currency: Series[Text]
    merchant_id: Series[Text]
    merchant_category: Series[Text]
    location_lat: Series[Float]
    location_lon: Series[Float]
    payment_method: Series[Text]
    device_id: Series[Text] = pa.Field(nullable=True)
    event_time: Series[UtcTime]
    event_date: Series[Day]

    @pa.check("card_token", name="token_format")
    def card_token_is_token(cls, tokens: pd.Series) -> pd.Series:
        return tokens.str.fullmatch(r"tok_[0-9a-f]{24}")

    @pa.check("amount", name="finite")
    def amount_finite(cls, amount: pd.Series) -> pd.Series:
        values = amount.to_numpy(dtype=float, na_value=np.nan)
        return pd.Series(np.isfinite(values), index=amount.index)

    @pa.check("amount", name="positive")
    def amount_positive(cls, amount: pd.Series) -> pd.Series:
        return amount > 0

    @pa.check("currency", name="known_value")
    def known_currency(cls, currency: pd.Series) -> pd.Series:
        return currency.isin(CURRENCIES)

    @pa.check("payment_method", name="known_value")
    def known_payment_method(cls, method: pd.Series) -> pd.Series:
        return method.isin(PAYMENT_METHODS)

    @pa.check("location_lat", name="in_range")
    def latitude_in_range(cls, latitude: pd.Series) -> pd.Series:
        return latitude.between(-90, 90)

    @pa.check("location_lon", name="in_range")
    def longitude_in_range(cls, longitude: pd.Series) -> pd.Series:
        return longitude.between(-180, 180)

    @pa.dataframe_check(name="event_time:not_in_future")
    def event_not_in_future(cls, frame: pd.DataFrame) -> pd.Series:
        return _not_after_ingestion(frame["event_time"], frame["_ingested_at"])

    @pa.dataframe_check(name="event_time:in_partition")
    def event_in_partition(cls, frame: pd.DataFrame) -> pd.Series:
        return _same_day(frame["event_time"], frame["event_date"])

    class Config:
        strict = True


class SilverChargebacks(Lineage):
    transaction_id: Series[Text] = pa.Field(unique=True)
    reported_at: Series[UtcTime]
    reason: Series[Text]
    reported_date: Series[Day]

    @pa.dataframe_check(name="reported_at:not_in_future")
    def reported_not_in_future(cls, frame: pd.DataFrame) -> pd.Series:
        return _not_after_ingestion(frame["reported_at"], frame["_ingested_at"])

    @pa.dataframe_check(name="reported_at:in_partition")
    def reported_in_partition(cls, frame: pd.DataFrame) -> pd.Series:
        return _same_day(frame["reported_at"], frame["reported_date"])

    class Config:
        strict = True


class SilverUsers(Lineage):
    user_id: Series[Text] = pa.Field(unique=True)
    home_lat: Series[Float] = pa.Field(in_range={"min_value": -90, "max_value": 90})
    home_lon: Series[Float] = pa.Field(in_range={"min_value": -180, "max_value": 180})
    home_country: Series[Text]
    signup_date: Series[Day]
    risk_segment: Series[Text]

    class Config:
        strict = True


class SilverMerchants(Lineage):
    merchant_id: Series[Text] = pa.Field(unique=True)
    merchant_name: Series[Text]
    merchant_category: Series[Text]
    merchant_lat: Series[Float] = pa.Field(in_range={"min_value": -90, "max_value": 90})
    merchant_lon: Series[Float] = pa.Field(in_range={"min_value": -180, "max_value": 180})
    merchant_country: Series[Text]

    class Config:
        strict = True


SILVER_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "transactions": SilverTransactions,
    "chargebacks": SilverChargebacks,
    "users": SilverUsers,
    "merchants": SilverMerchants,
}
