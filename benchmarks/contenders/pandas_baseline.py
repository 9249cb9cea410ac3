"""(a) The straightforward pandas approach of the source material, doing the same job.

Read each file with pandas, parse timestamps with `pd.to_datetime`, tokenize card numbers
row by row with HMAC, write bronze; then deduplicate, validate with a plain Pandera model
(numpy dtypes; the checks of the platform's `SilverTransactions`, written here
independently) and write silver and its quarantine. Both tables replace the day's
partition, as the platform's do.
"""

import hashlib
import hmac
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import pandera.pandas as pa
from deltalake import write_deltalake
from pandera.errors import SchemaErrors
from pandera.typing import Series

from benchmarks.contenders import SOURCE, transaction_files

# Only the card number needs a dtype (pandas would read its digits as int64); a blanket
# `dtype=str` would turn JSON nulls into the text "None".
CARD_AS_TEXT = {"card_number": str}
UtcTime = Annotated[pd.DatetimeTZDtype, "ns", "UTC"]


class Transactions(pa.DataFrameModel):
    source_file: Series[str] = pa.Field(alias="_source_file")
    line: Series[int] = pa.Field(alias="_line", ge=1)
    ingested_at: Series[UtcTime] = pa.Field(alias="_ingested_at")
    transaction_id: Series[str] = pa.Field(unique=True)
    user_id: Series[str]
    card_token: Series[str] = pa.Field(str_matches=r"^tok_[0-9a-f]{24}$")
    amount: Series[float] = pa.Field(gt=0)
    currency: Series[str] = pa.Field(isin=["EUR", "USD", "GBP"])
    merchant_id: Series[str]
    merchant_category: Series[str]
    location_lat: Series[float] = pa.Field(in_range={"min_value": -90, "max_value": 90})
    location_lon: Series[float] = pa.Field(in_range={"min_value": -180, "max_value": 180})
    payment_method: Series[str] = pa.Field(isin=["chip", "contactless", "online", "swipe"])
    device_id: Series[str] = pa.Field(nullable=True)
    event_time: Series[UtcTime]
    event_date: Series[pa.typing.Date]

    @pa.check("amount", name="finite")
    def amount_finite(cls, amount: pd.Series) -> pd.Series:
        return np.isfinite(amount)

    @pa.dataframe_check(name="event_time:not_in_future")
    def not_in_future(cls, frame: pd.DataFrame) -> pd.Series:
        return frame["event_time"] <= frame["_ingested_at"] + pd.Timedelta(minutes=5)

    @pa.dataframe_check(name="event_time:in_partition")
    def in_partition(cls, frame: pd.DataFrame) -> pd.Series:
        return frame["event_time"].dt.date == frame["event_date"]

    class Config:
        strict = True


def run(landing: Path, day: date, out: Path) -> dict:
    key = os.environ["CARD_TOKEN_KEY"].encode()
    ingested_at = pd.Timestamp.now(tz="UTC")
    frames = []
    for path in transaction_files(landing, day):
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype=CARD_AS_TEXT)
            first_line = 2  # after the header
        else:
            # Timestamps are parsed below, for both formats alike.
            frame = pd.read_json(path, lines=True, dtype=CARD_AS_TEXT, convert_dates=False)
            first_line = 1
        frame["_source_file"] = path.relative_to(landing).as_posix()
        frame["_line"] = np.arange(first_line, first_line + len(frame))
        frames.append(frame)
    bronze = pd.concat(frames, ignore_index=True)
    bronze["event_time"] = pd.to_datetime(bronze["event_time"], utc=True)
    bronze["card_token"] = bronze.pop("card_number").map(
        lambda pan: "tok_" + hmac.new(key, pan.encode(), hashlib.sha256).hexdigest()[:24]
    )
    bronze["_ingested_at"] = ingested_at
    bronze["landing_date"] = day
    _replace_partition(out / "bronze" / SOURCE, bronze, "landing_date", day)

    # Last delivery (file name, then line) wins.
    silver = bronze.sort_values(["_source_file", "_line"]).drop_duplicates(
        "transaction_id", keep="last"
    )
    silver = silver.drop(columns="landing_date").assign(event_date=day)
    try:
        Transactions.validate(silver, lazy=True)
        quarantine = silver.iloc[:0]
    except SchemaErrors as errors:
        failed = errors.failure_cases["index"].dropna().unique()
        quarantine, silver = silver.loc[failed], silver.drop(index=failed)
    _replace_partition(out / "silver" / SOURCE, silver, "event_date", day)
    if len(quarantine):
        _replace_partition(out / "silver" / f"{SOURCE}_quarantine", quarantine, "event_date", day)
    return {"source_rows": len(bronze), "bronze_rows": len(bronze), "silver_rows": len(silver)}


def _replace_partition(uri: Path, frame: pd.DataFrame, column: str, day: date) -> None:
    write_deltalake(
        uri,
        frame,
        mode="overwrite",
        partition_by=[column],
        predicate=f"{column} = '{day.isoformat()}'",
    )
