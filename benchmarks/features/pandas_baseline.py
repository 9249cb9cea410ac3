"""(a) What a user would write in pandas: groupby + time-based rolling windows.

Straightforward but competent: read the 8 days from Delta into pandas, sort by
(user, time, id), then per user `rolling("1h"/"24h"/"7D", closed="both")` counts and sums,
`groupby().shift()` for the previous transaction and numpy for the haversine. The spec's
details are honoured the way a careful pandas user would: a time-based rolling window ends
at the current row, so rows tied in time take the value of the last of them (which sees
them all); the current row is taken off (count - 1, sum - amount); the 1h/24h windows and
the distinct-merchant count run only over the last two days, since pandas has no
time-based rolling `nunique`, distinct merchants are `rolling(...).apply(np.unique)` on the
merchant codes, with the row's own merchant taken off when no other transaction of the
window has it.
"""

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable

from benchmarks.features.output import SILVER_TABLE, Stopwatch, counts, write_features
from platform_assets.features.compute import EARTH_RADIUS_KM, USER_HISTORY_DAYS

COLUMNS = [
    "transaction_id",
    "user_id",
    "merchant_id",
    "amount",
    "location_lat",
    "location_lon",
    "event_time",
    "_ingested_at",
]
KEY = ["user_id", "event_time"]


def read(lake: Path, day: date) -> pd.DataFrame:
    first = day - timedelta(days=USER_HISTORY_DAYS)
    return DeltaTable(str(lake / SILVER_TABLE)).to_pandas(
        columns=COLUMNS,
        filters=[("event_date", ">=", first), ("event_date", "<=", day)],
    )


def _rolling(frame: pd.DataFrame, by: list[str], column: str, window: str, how: str):
    """Per group, over the window ending at each row (both ends closed), in frame order.

    `frame` is sorted by `by` and time; the result is indexed by them, and sorting it by its
    index (a no-op when pandas kept the order) puts it back in frame order."""
    rolling = frame.groupby(by, sort=False).rolling(window, on="event_time", closed="both")
    return _in_frame_order(getattr(rolling[column], how)())


def _in_frame_order(rolled: pd.Series) -> np.ndarray:
    return rolled.sort_index(kind="stable").to_numpy()


def _distinct(codes: np.ndarray) -> float:
    return len(np.unique(codes))


def _with_peers(frame: pd.DataFrame, values: np.ndarray, tied: np.ndarray, keys) -> np.ndarray:
    """Rows tied in time all take the last tied row's value (its window holds them all)."""
    if not tied.any():
        return values
    values = values.copy()
    subset = frame.loc[tied, keys].assign(value=values[tied])
    values[tied] = subset.groupby(keys, sort=False)["value"].transform("last").to_numpy()
    return values


def compute(frame: pd.DataFrame, day: date, watch: Stopwatch | None = None) -> pd.DataFrame:
    lap = watch.lap if watch else lambda stage: None
    frame = frame.sort_values(["user_id", "event_time", "transaction_id"], ignore_index=True)
    day_start = pd.Timestamp(day, tz="UTC")
    tied = frame.duplicated(KEY, keep=False).to_numpy()
    amount = frame["amount"].to_numpy()

    count_7d = _with_peers(frame, _rolling(frame, ["user_id"], "amount", "7D", "count"), tied, KEY)
    sum_7d = _with_peers(frame, _rolling(frame, ["user_id"], "amount", "7D", "sum"), tied, KEY)
    lap("sort + 7d rolling")

    # The 1h/24h windows of the day's rows reach back to the day before only.
    recent = frame[frame["event_time"] >= day_start - pd.Timedelta(hours=24)].reset_index()
    recent_tied = tied[recent["index"].to_numpy()]
    recent["merchant_code"] = recent["merchant_id"].astype("category").cat.codes.astype(float)
    count_1h = _rolling(recent, ["user_id"], "amount", "1h", "count")
    count_24h = _rolling(recent, ["user_id"], "amount", "24h", "count")
    sum_24h = _rolling(recent, ["user_id"], "amount", "24h", "sum")
    lap("1h/24h rolling")
    merchants = (
        recent.groupby("user_id", sort=False)
        .rolling("24h", on="event_time", closed="both")["merchant_code"]
        .apply(_distinct, raw=True)
    )
    merchants = _in_frame_order(merchants)
    # Transactions at the same merchant in the window (this one included).
    merchant_key = ["user_id", "merchant_id", "event_time"]
    by_merchant = recent.sort_values(merchant_key, kind="stable")
    merchant_tied = by_merchant.duplicated(merchant_key, keep=False).to_numpy()
    same = _rolling(by_merchant, ["user_id", "merchant_id"], "amount", "24h", "count")
    same = _with_peers(by_merchant, same, merchant_tied, merchant_key)
    same_merchant_count = np.empty_like(same)
    same_merchant_count[by_merchant.index.to_numpy()] = same
    lap("distinct merchants (rolling apply)")
    count_1h, count_24h, sum_24h, merchants = (
        _with_peers(recent, values, recent_tied, KEY)
        for values in (count_1h, count_24h, sum_24h, merchants)
    )

    previous = frame.groupby("user_id", sort=False)[
        ["event_time", "location_lat", "location_lon"]
    ].shift(1)
    seconds = (frame["event_time"] - previous["event_time"]).dt.total_seconds().to_numpy()
    has_previous = seconds <= USER_HISTORY_DAYS * 24 * 3600  # NaN (none) compares False
    seconds = np.where(has_previous, seconds, np.nan)
    lat, lon = np.radians(frame["location_lat"]), np.radians(frame["location_lon"])
    prev_lat, prev_lon = np.radians(previous["location_lat"]), np.radians(previous["location_lon"])
    haversine = (
        np.sin((lat - prev_lat) / 2) ** 2
        + np.cos(prev_lat) * np.cos(lat) * np.sin((lon - prev_lon) / 2) ** 2
    )
    km = np.where(has_previous, 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(haversine)), np.nan)

    others_7d = count_7d - 1
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 s gaps: no velocity
        velocity = np.where(seconds > 0, km / (seconds / 3600), np.nan)
    result = pd.DataFrame(
        {
            "transaction_id": frame["transaction_id"],
            "user_id": frame["user_id"],
            "event_timestamp": frame["event_time"],
            "created_timestamp": frame["_ingested_at"],
            "user_txn_count_7d": others_7d.astype(np.int64),
            "user_amount_mean_7d": np.where(
                others_7d > 0, (sum_7d - amount) / np.maximum(others_7d, 1), np.nan
            ),
            "user_seconds_since_prev_txn": seconds,
            "user_km_from_prev_txn": km,
            "user_velocity_kmh": velocity,
            # The latest input: a transaction at the same instant, else the previous one.
            "inputs_as_of": frame["event_time"]
            .where(tied, previous["event_time"])
            .where(others_7d > 0),
        }
    )
    in_day = (recent["event_time"] >= day_start).to_numpy()
    rows = recent["index"].to_numpy()[in_day]
    result = result.iloc[rows].reset_index(drop=True)
    result["event_date"] = day
    result["user_txn_count_1h"] = (count_1h[in_day] - 1).astype(np.int64)
    result["user_txn_count_24h"] = (count_24h[in_day] - 1).astype(np.int64)
    result["user_amount_sum_24h"] = sum_24h[in_day] - amount[rows]
    result["user_distinct_merchants_24h"] = (
        merchants[in_day] - (same_merchant_count[in_day] <= 1)
    ).astype(np.int64)
    return result


def run(lake: Path, day: date, out: Path) -> dict:
    watch = Stopwatch()
    frame = read(lake, day)
    watch.lap("read")
    features = compute(frame, day, watch)
    watch.lap("previous + assemble")
    rows = write_features(out, pa.Table.from_pandas(features, preserve_index=False), day)
    watch.lap("write")
    return counts(rows, watch)
