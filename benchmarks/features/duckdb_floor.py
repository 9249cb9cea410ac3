"""(b) The floor: one hand-written DuckDB query, as fast as we could make it.

It reads the silver Parquet files of the 8 days straight from the Delta table's current
snapshot (DuckDB's own parallel Parquet reader, only the needed columns; the file list
comes from the Delta log), and computes the same values as docs/features.md says, exactly
(to float rounding), with these tricks:

- No `EXCLUDE CURRENT ROW`: every window is inclusive (RANGE frames include the current
  row's peers, i.e. the other transactions at the same instant), and the transaction's own
  contribution is subtracted (count - 1, sum - amount).
- The 1h/24h windows run over the last two days only (D-1 and D, 2M rows).
- The 7-day window is not a window over 8M rows: days D-6..D-2 are a per-user hash
  aggregate (count, sum); day D-7 is shifted by +7 days into D's timeline, so "D-7 rows at
  or after t - 7 days" becomes a `RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING` sum in
  the same window as the 24h frames.
- Distinct merchants over 24h without `count(DISTINCT) OVER`: the occurrences of a
  (user, merchant) are merged into coverage intervals [first, last + 24h] (a new interval
  starts when the gap to the previous occurrence exceeds 24h). The merchants in the window
  ending at t are the intervals covering t: (#interval starts <= t) - (#interval ends < t),
  two running sums in the same window. The transaction's own merchant is then taken off
  when no other occurrence of it lies in [t - 24h, t] (lag/lead in the merchant partition).
- The previous transaction: `lag` ordered by (event_time, transaction_id) over D-1, D and
  each user's latest older transaction (a per-user `arg_max` in the same aggregate).

Three sorts in all (merchant flags, the main window, the previous-transaction window), two
of 2M rows and one of 3M; the result is written unsorted, like every contender writes
what it produced (`write_deltalake`, replacing the day's partition).
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from benchmarks.features.output import SILVER_TABLE, Stopwatch, counts, write_features
from platform_assets.features.compute import EARTH_RADIUS_KM

HOUR_US = 3600 * 1_000_000
DAY_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US


def query(recent: str, older: str, oldest: str) -> str:
    """The floor's SQL over three row sources: days D-1..D, D-7..D-2 and D-7."""
    return f"""
with
recent as (
    select transaction_id, user_id, merchant_id, amount, location_lat as lat,
        location_lon as lon, epoch_us(event_time) as ts, _ingested_at
    from {recent}
),
older as (
    -- days D-7..D-2 per user: how many, how much, and the latest by (time, id)
    select user_id, count(*) as n, sum(amount) as total,
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
    -- kind 0: a transaction of D-1 or D, counted with weight 1 (its amount);
    -- kind 1: a transaction of D-7 moved to 7 days + 1 us later, weight -1 (-amount): from
    --   then on it is out of the 7-day window;
    -- kind 2: one row per user standing for days D-7..D-2 (count, sum), at the time of
    --   their latest transaction, which is also the previous transaction of a user's
    --   first one in D-1/D.
    select transaction_id, user_id, ts, ts as real_ts, lat, lon, _ingested_at, 0 as kind,
        amount, 1 as weight, amount as amount_weight,
        (prev_same is null or prev_same < ts - {DAY_US})::int as opens,
        (next_same is null or next_same > ts + {DAY_US})::int as closes,
        coalesce(prev_same >= ts - {DAY_US} or next_same = ts, false) as merchant_seen
    from flagged
    union all
    select null, user_id, epoch_us(event_time) + {WEEK_US + 1}, null, null, null, null, 1,
        null, -1, -amount, 0, 0, null
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
-- Ties in time are ordered by transaction_id, which the window above cannot see: the few
-- users with a tie next to a day's transaction get their previous transaction again, exactly.
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
    sum_24h - amount as user_amount_sum_24h,
    case when count_7d > 0 then sum_7d / count_7d end as user_amount_mean_7d,
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


SQL = query(*(f"read_parquet(${name}_files)" for name in ("recent", "older", "oldest")))


ARROW_SQL = query("recent_rows", "older_rows", "oldest_rows")
"""The same query over Arrow tables of the days D-1..D, D-7..D-2 and D-7."""


def day_files(table: DeltaTable, first: date, last: date) -> list[str]:
    """The current snapshot's Parquet files of the days first..last, from the Delta log."""
    actions = pa.table(table.get_add_actions(flatten=True)).to_pydict()
    root = table.table_uri.removeprefix("file://").rstrip("/")
    return [
        f"{root}/{path}"
        for path, day in zip(actions["path"], actions["partition.event_date"], strict=True)
        if first <= _as_date(day) <= last
    ]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def compute(silver: DeltaTable, day: date) -> pa.Table:
    start = datetime.combine(day, datetime.min.time(), UTC)
    parameters = {
        "recent_files": day_files(silver, day - timedelta(days=1), day),
        "older_files": day_files(silver, day - timedelta(days=7), day - timedelta(days=2)),
        "oldest_files": day_files(silver, day - timedelta(days=7), day - timedelta(days=7)),
        "day_start_us": int(start.timestamp()) * 1_000_000,
        "day": day,
    }
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        return connection.execute(SQL, parameters).to_arrow_table()


def compute_from_arrow(transactions: pa.Table, day: date) -> pa.Table:
    """A drop-in for the platform's `compute_user_features(transactions, day)`: the floor's
    query over the Arrow table of the 8 days that the asset reads, split by `event_date`
    (silver's partition column) with pyarrow first, so DuckDB scans each day once."""
    start = datetime.combine(day, datetime.min.time(), UTC)
    days = transactions["event_date"]
    first_day = day - timedelta(days=7)
    tables = {
        "recent_rows": transactions.filter(pc.greater_equal(days, day - timedelta(days=1))),
        "older_rows": transactions.filter(
            pc.and_(pc.greater_equal(days, first_day), pc.less(days, day - timedelta(days=1)))
        ),
        "oldest_rows": transactions.filter(pc.equal(days, first_day)),
    }
    parameters = {"day": day, "day_start_us": int(start.timestamp()) * 1_000_000}
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        for name, table in tables.items():
            connection.register(name, table)
        return connection.execute(ARROW_SQL, parameters).to_arrow_table()


def run(lake: Path, day: date, out: Path) -> dict:
    watch = Stopwatch()
    features = compute(DeltaTable(str(lake / SILVER_TABLE)), day)
    watch.lap("read + compute")
    rows = write_features(out, features, day)
    watch.lap("write")
    return counts(rows, watch)
