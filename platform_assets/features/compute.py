"""Point-in-time feature values, computed in DuckDB over Arrow (docs/features.md defines them).

Each function takes silver rows covering the day and its history and returns the rows of
`day` only. User rows come unsorted: readers sort or join as they need, and sorting 1M rows
here would only cost time.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

USER_HISTORY_DAYS = 7
MERCHANT_HISTORY_DAYS = 30
EARTH_RADIUS_KM = 6371.0088

USER_FEATURE_COLUMNS = (
    "user_txn_count_1h",
    "user_txn_count_24h",
    "user_txn_count_7d",
    "user_amount_sum_24h",
    "user_amount_mean_7d",
    "user_distinct_merchants_24h",
    "user_seconds_since_prev_txn",
    "user_km_from_prev_txn",
    "user_velocity_kmh",
)
MERCHANT_FEATURE_COLUMNS = (
    "merchant_txn_count_24h",
    "merchant_txn_count_30d",
    "merchant_chargebacks_known_30d",
    "merchant_fraud_rate_30d",
)

AMOUNT_SCALE = 2**52
"""Amounts are summed as 128-bit integers in units of 2^-52: exact for any amount >= 1 (its
last bit is worth at least 2^-52), rounded by at most 1.2e-16 below that. A sum overflows
(and the query fails) only past about 3.7e22."""
HOUR_US = 3600 * 1_000_000
DAY_US = 24 * HOUR_US
WEEK_US = USER_HISTORY_DAYS * DAY_US

USER_RECENT_COLUMNS = (
    "transaction_id",
    "user_id",
    "merchant_id",
    "amount",
    "location_lat",
    "location_lon",
    "event_time",
    "_ingested_at",
    "event_date",
)
"""What the user features read of the day and the day before."""
USER_OLDER_COLUMNS = (
    "transaction_id",
    "user_id",
    "amount",
    "location_lat",
    "location_lon",
    "event_time",
    "event_date",
)
"""What they read of the 6 days before those: no merchant (its window is 24 hours long) and
no ingestion time (only the day's own rows are output)."""
_OLDEST_COLUMNS = ("user_id", "amount", "event_time")


def _units(amount: str) -> str:
    return f"({amount} * {AMOUNT_SCALE})::hugeint"


def user_features_sql(recent: str, older: str, oldest: str) -> str:
    """The user-feature query for day D over three row sources (SQL table expressions):
    `recent` = the transactions of D-1 and D (`USER_RECENT_COLUMNS`), `older` = those of
    D-7..D-2 (`USER_OLDER_COLUMNS`), `oldest` = those of D-7 (user_id, amount, event_time).
    Parameters: `$day` (D) and `$day_start_us` (D 00:00 UTC in epoch microseconds).

    It computes exactly the values docs/features.md defines, with fewer and smaller sorts
    than window frames over all 8 days would need:

    - Times are epoch microseconds (`ts`): integer arithmetic, no time zone involved.
    - Amounts are summed as integers (`AMOUNT_SCALE`): sums are exact whatever order
      DuckDB's threads add rows in, so re-runs and range runs give identical values, and
      subtracting a row's own amount (below) leaves exactly the sum of the others. Each
      result is converted to a double once.
    - No `EXCLUDE CURRENT ROW`: every frame is inclusive. A RANGE frame ending at `CURRENT
      ROW` already holds the row's peers (the other transactions at the same instant), which
      the spec counts; the row's own contribution is then subtracted (count - 1,
      sum - amount).
    - The 1h/24h windows and the merchant count only reach back into D-1: they run over
      `recent` alone (2 of the 8 days).
    - The 7-day count and sum are one running sum (`RANGE UNBOUNDED PRECEDING AND CURRENT
      ROW`) in the same window as the 24h frames, over three kinds of rows:
      kind 0: the transactions of D-1 and D, weight 1 (amount);
      kind 1: each transaction of D-7 moved to 7 days + 1 us later, weight -1 (-amount):
        for a day-D transaction at t, "moved time <= t" is "t_j < t - 7 days", i.e. exactly
        the D-7 transactions that have left its window;
      kind 2: one row per user standing for all of D-7..D-2 (count, sum), at their latest
        time. Every D-6..D-2 transaction is within 7 days of any time t of day D, so only
        D-7 needs the correction above; nothing older than D-7 is in `older`.
      D-7..D-2 is one hash aggregate instead of a window over 6M rows.
    - Distinct merchants over 24 hours without `count(DISTINCT) OVER`: the occurrences of a
      (user, merchant) merge into coverage intervals [first, last + 24h] (a new interval
      opens when the previous occurrence is more than 24h earlier). A merchant was seen in
      [t - 24h, t] iff one of its intervals covers t, so the count is (#interval opens <= t)
      - (#interval closes < t - 24h): two running sums in the same window. The row's own
      merchant is then taken off unless another occurrence of it lies in [t - 24h, t]:
      the previous one in the merchant's order is >= t - 24h, or the next one is at t.
    - The previous transaction: `lag(... IGNORE NULLS)` over the same window (the moved D-7
      rows carry no time or place). For a user's first transaction in D-1/D it is the kind-2
      row, which carries the latest D-7..D-2 transaction by (time, id) (a struct max
      compares its fields in order). The window orders peers arbitrarily, the spec by
      transaction_id: users with a tie next to a day-D row get their previous transaction
      again from an exact (ts, transaction_id) window over their rows only.
    - `inputs_as_of` is the latest time in the 7-day window: t when the row has a peer, else
      the previous transaction's (which is then the latest in the window), null when empty.
    """
    return f"""
with
recent as (
    select transaction_id, user_id, merchant_id, {_units("amount")} as amount,
        location_lat as lat, location_lon as lon, epoch_us(event_time) as ts, _ingested_at
    from {recent}
),
older as (
    -- days D-7..D-2 per user: how many, how much, and the latest by (time, id)
    select user_id, count(*) as n, sum({_units("amount")}) as total,
        max({{ts: epoch_us(event_time), id: transaction_id, lat: location_lat,
              lon: location_lon}}) as latest
    from {older}
    group by user_id
),
flagged as (
    select *,
        lag(ts) over by_merchant as prev_same, lead(ts) over by_merchant as next_same
    from recent
    window by_merchant as (partition by user_id, merchant_id order by ts)
),
combined as (
    -- the three kinds of rows (see the docstring); kind 2 carries the aggregate as weight n
    select transaction_id, user_id, ts, ts as real_ts, lat, lon, _ingested_at, 0 as kind,
        amount, 1 as weight, amount as amount_weight,
        (prev_same is null or prev_same < ts - {DAY_US})::int as opens,
        (next_same is null or next_same > ts + {DAY_US})::int as closes,
        coalesce(prev_same >= ts - {DAY_US} or next_same = ts, false) as merchant_seen
    from flagged
    union all
    select null, user_id, epoch_us(event_time) + {WEEK_US + 1}, null, null, null, null, 1,
        null, -1, -{_units("amount")}, 0, 0, null
    from {oldest}
    union all
    select latest.id, user_id, latest.ts, latest.ts, latest.lat, latest.lon, null, 2,
        null, n, total, 0, 0, null
    from older
),
windows as (
    select *,
        sum((kind = 0)::int) over last_1h as count_1h,
        sum((kind = 0)::int) over last_24h as count_24h,
        sum(case when kind = 0 then amount end) over last_24h as sum_24h,
        sum(opens) over up_to_t - coalesce(sum(closes) over before_24h, 0) as merchants_24h,
        sum(weight) over up_to_t - 1 as count_7d,
        sum(amount_weight) over up_to_t - amount as sum_7d,
        lag(real_ts ignore nulls) over by_time as prev_ts,
        lag(lat ignore nulls) over by_time as prev_lat,
        lag(lon ignore nulls) over by_time as prev_lon,
        lead(real_ts ignore nulls) over by_time as next_ts,
        lag(real_ts, 2 ignore nulls) over by_time as prev_prev_ts
    from combined
    window
        by_time as (partition by user_id order by ts),
        last_1h as (by_time range between {HOUR_US} preceding and current row),
        last_24h as (by_time range between {DAY_US} preceding and current row),
        up_to_t as (by_time range between unbounded preceding and current row),
        before_24h as (by_time range between unbounded preceding and {DAY_US + 1} preceding)
    qualify kind = 0 and ts >= $day_start_us
),
-- a tie next to a day-D row: with the row itself, its previous or the one before that
tied_users as (
    select distinct user_id from windows
    where prev_ts = ts or next_ts = ts or prev_prev_ts = prev_ts
),
exact_previous as (
    select transaction_id,
        lag(real_ts) over in_order as prev_ts,
        lag(lat) over in_order as prev_lat,
        lag(lon) over in_order as prev_lon
    from combined semi join tied_users using (user_id)
    where kind <> 1
    window in_order as (partition by user_id order by ts, transaction_id)
),
features as (
    select windows.* replace (
            coalesce(exact_previous.prev_ts, windows.prev_ts) as prev_ts,
            coalesce(exact_previous.prev_lat, windows.prev_lat) as prev_lat,
            coalesce(exact_previous.prev_lon, windows.prev_lon) as prev_lon
        ),
        -- peers are neighbours in the window's order, whichever way it broke the tie
        coalesce(windows.prev_ts = ts or windows.next_ts = ts, false) as has_peer
    from windows left join exact_previous using (transaction_id)
),
previous as (
    -- a previous transaction more than 7 days back is "none" (docs/features.md)
    select *,
        case when prev_ts >= ts - {WEEK_US} then (ts - prev_ts) / 1e6 end as seconds_prev,
        case when prev_ts >= ts - {WEEK_US} then 2 * {EARTH_RADIUS_KM} * asin(sqrt(
            pow(sin(radians(lat - prev_lat) / 2), 2)
            + cos(radians(prev_lat)) * cos(radians(lat))
              * pow(sin(radians(lon - prev_lon) / 2), 2))) end as km_prev
    from features
)
select
    transaction_id, user_id,
    make_timestamptz(ts) as event_timestamp,
    _ingested_at as created_timestamp,
    $day::date as event_date,
    (count_1h - 1)::bigint as user_txn_count_1h,
    (count_24h - 1)::bigint as user_txn_count_24h,
    count_7d::bigint as user_txn_count_7d,
    (sum_24h - amount)::double / {AMOUNT_SCALE} as user_amount_sum_24h,
    case when count_7d > 0 then sum_7d::double / {AMOUNT_SCALE} / count_7d end
        as user_amount_mean_7d,
    (merchants_24h - (not merchant_seen)::int)::bigint as user_distinct_merchants_24h,
    seconds_prev as user_seconds_since_prev_txn,
    km_prev as user_km_from_prev_txn,
    case when seconds_prev > 0 then km_prev / (seconds_prev / 3600) end as user_velocity_kmh,
    case
        when count_7d = 0 then null
        when has_peer then make_timestamptz(ts)
        else make_timestamptz(prev_ts)
    end as inputs_as_of
from previous
"""


def user_features_parameters(day: date) -> dict:
    """The parameters of `user_features_sql` for `day`."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    return {"day": day, "day_start_us": int(start.timestamp()) * 1_000_000}


_USER_SQL = user_features_sql("recent_rows", "older_rows", "oldest_rows")


def user_feature_reads(first: date, last: date) -> list[tuple[date, date, tuple[str, ...]]]:
    """What computing the days first..last reads of silver transactions: (first day, last
    day, columns) per read. Days before first - 1 only feed the 7-day aggregate."""
    return [
        (first - timedelta(days=1), last, USER_RECENT_COLUMNS),
        (first - timedelta(days=USER_HISTORY_DAYS), first - timedelta(days=2), USER_OLDER_COLUMNS),
    ]


# A chargeback counts for its merchant at time t when it was reported by t and its
# transaction is among the other ones of the 30 days up to t.
_MERCHANT_SQL = """
with history as (
    select transaction_id, merchant_id, event_time, _ingested_at
    from transactions
    where event_time >= $day_start - interval 30 day and event_time < $day_end
),
windows as (
    select transaction_id, merchant_id, event_time, _ingested_at,
        count(*) over (partition by merchant_id order by event_time
            range between interval 24 hour preceding and current row exclude current row)
            as merchant_txn_count_24h,
        count(*) over last_30d as merchant_txn_count_30d,
        max(event_time) over last_30d as latest_event_time
    from history
    window last_30d as (partition by merchant_id order by event_time
                        range between interval 30 day preceding and current row
                        exclude current row)
    qualify event_time >= $day_start
),
labelled as (
    select history.transaction_id, merchant_id, event_time, min(reported_at) as reported_at
    from history join chargebacks using (transaction_id)
    where reported_at < $day_end
    group by all
),
known as (
    select windows.transaction_id,
        count(labelled.transaction_id) as merchant_chargebacks_known_30d,
        max(labelled.reported_at) as latest_report
    from windows left join labelled
        on labelled.merchant_id = windows.merchant_id
        and labelled.transaction_id <> windows.transaction_id
        and labelled.reported_at <= windows.event_time
        and labelled.event_time <= windows.event_time
        and labelled.event_time >= windows.event_time - interval 30 day
    group by windows.transaction_id
)
select
    windows.transaction_id, merchant_id,
    event_time as event_timestamp, _ingested_at as created_timestamp,
    $day as event_date,
    merchant_txn_count_24h, merchant_txn_count_30d, merchant_chargebacks_known_30d,
    case when merchant_txn_count_30d > 0
        then merchant_chargebacks_known_30d / merchant_txn_count_30d end
        as merchant_fraud_rate_30d,
    greatest(latest_event_time, latest_report) as inputs_as_of
from windows join known using (transaction_id)
order by event_timestamp, transaction_id
"""


def compute_user_features(transactions: pa.Table | Sequence[pa.Table], day: date) -> pa.Table:
    """User features of `day`'s transactions.

    `transactions`: silver rows covering the 7 days before `day` and `day` itself, as one
    table or several (the asset passes its `user_feature_reads`, whose older days lack the
    merchant); rows of other days are ignored. Rows are picked by `event_date`, which silver
    guarantees is the UTC date of `event_time` (check `event_time:in_partition`)."""
    tables = [transactions] if isinstance(transactions, pa.Table) else list(transactions)
    one_day = timedelta(days=1)
    recent = _rows_of_days(tables, day - one_day, day, USER_RECENT_COLUMNS)
    older = _rows_of_days(
        tables, day - USER_HISTORY_DAYS * one_day, day - 2 * one_day, USER_OLDER_COLUMNS
    )
    oldest = _rows_of_days([older], day - USER_HISTORY_DAYS * one_day, None, _OLDEST_COLUMNS)
    with connect() as connection:
        for name, rows in (("recent_rows", recent), ("older_rows", older), ("oldest_rows", oldest)):
            connection.register(name, rows)
        return connection.execute(_USER_SQL, user_features_parameters(day)).to_arrow_table()


def compute_merchant_features(transactions: pa.Table, chargebacks: pa.Table, day: date) -> pa.Table:
    """Merchant features of `day`'s transactions; inputs cover the 30 days before too."""
    with connect() as connection:
        connection.register("transactions", transactions)
        connection.register("chargebacks", chargebacks)
        start = datetime.combine(day, time(), tzinfo=UTC)
        parameters = {"day": day, "day_start": start, "day_end": start + timedelta(days=1)}
        return connection.execute(_MERCHANT_SQL, parameters).to_arrow_table()


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the session settings the feature queries assume."""
    connection = duckdb.connect()
    # Interval arithmetic on timestamptz follows the session time zone: pin it, so a
    # "24 hour" window never becomes 23 or 25 hours across a DST change (and timestamps come
    # out labelled UTC).
    connection.execute("set TimeZone = 'UTC'")
    return connection


def _rows_of_days(
    tables: list[pa.Table], first: date, last: date | None, columns: Sequence[str]
) -> pa.Table:
    """The rows of `tables` with `event_date` in first..last (last None: first only), with
    `columns`. A table lying wholly inside the days is taken as is: no copy."""
    last = first if last is None else last
    parts = []
    for table in tables:
        days = pc.min_max(table["event_date"])
        low, high = days["min"].as_py(), days["max"].as_py()
        if low is None or high < first or low > last:
            continue
        if missing := set(columns) - set(table.column_names):
            raise ValueError(f"rows of {first}..{last} lack the columns {sorted(missing)}")
        if not (first <= low and high <= last):
            dates = table["event_date"]
            table = table.filter(
                pc.and_(pc.greater_equal(dates, first), pc.less_equal(dates, last))
            )
        parts.append(table.select(columns))
    if not parts:
        schemas = [t.schema for t in tables if set(columns) <= set(t.column_names)]
        if not schemas:
            raise ValueError(f"no input has the columns {list(columns)}")
        return pa.schema([schemas[0].field(name) for name in columns]).empty_table()
    return pa.concat_tables(parts)
