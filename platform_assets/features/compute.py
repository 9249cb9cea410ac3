"""Point-in-time feature values, computed in DuckDB over Arrow (docs/features.md defines them).

Each function takes silver rows covering the day and its history and returns the rows of
`day` only. Windows are `RANGE` frames over event time with `EXCLUDE CURRENT ROW`: closed at
both ends, other transactions at the same instant included, the transaction itself never.
"""

from datetime import UTC, date, datetime, time, timedelta

import duckdb
import pyarrow as pa

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

# The 1h/24h windows only need the last day of history, the 7-day ones all of it: computing
# them over separate row sets keeps the expensive distinct count off 7/8 of the rows.
_USER_SQL = f"""
with history as (
    select transaction_id, user_id, merchant_id, amount, location_lat, location_lon,
           event_time, _ingested_at
    from transactions
    where event_time >= $day_start - interval 7 day and event_time < $day_end
),
week as (
    select transaction_id, user_id, event_time, _ingested_at,
        count(*) over last_7d as user_txn_count_7d,
        avg(amount) over last_7d as user_amount_mean_7d,
        max(event_time) over last_7d as inputs_as_of,
        lag(event_time) over in_order as prev_time,
        lag(location_lat) over in_order as prev_lat,
        lag(location_lon) over in_order as prev_lon,
        location_lat, location_lon
    from history
    window
        last_7d as (partition by user_id order by event_time
                    range between interval 7 day preceding and current row exclude current row),
        in_order as (partition by user_id order by event_time, transaction_id)
    qualify event_time >= $day_start
),
last_day as (
    select transaction_id,
        count(*) over (partition by user_id order by event_time
            range between interval 1 hour preceding and current row exclude current row)
            as user_txn_count_1h,
        count(*) over last_24h as user_txn_count_24h,
        coalesce(sum(amount) over last_24h, 0.0) as user_amount_sum_24h,
        -- distinct merchants of the others = distinct merchants including this one, minus
        -- this one's merchant when no other transaction in the window shares it
        count(distinct merchant_id) over (partition by user_id order by event_time
            range between interval 24 hour preceding and current row)
        - (count(*) over (partition by user_id, merchant_id order by event_time
            range between interval 24 hour preceding and current row exclude current row)
           = 0)::bigint as user_distinct_merchants_24h
    from history
    where event_time >= $day_start - interval 24 hour
    window last_24h as (partition by user_id order by event_time
                        range between interval 24 hour preceding and current row
                        exclude current row)
    qualify event_time >= $day_start
),
previous as (
    select *,
        case when prev_time >= event_time - interval 7 day
            then (epoch_us(event_time) - epoch_us(prev_time)) / 1e6 end
            as user_seconds_since_prev_txn,
        case when prev_time >= event_time - interval 7 day then 2 * {EARTH_RADIUS_KM} * asin(sqrt(
            pow(sin(radians(location_lat - prev_lat) / 2), 2)
            + cos(radians(prev_lat)) * cos(radians(location_lat))
              * pow(sin(radians(location_lon - prev_lon) / 2), 2))) end
            as user_km_from_prev_txn
    from week
)
select
    previous.transaction_id, user_id,
    event_time as event_timestamp, _ingested_at as created_timestamp,
    $day as event_date,
    user_txn_count_1h, user_txn_count_24h, user_txn_count_7d,
    user_amount_sum_24h, user_amount_mean_7d, user_distinct_merchants_24h,
    user_seconds_since_prev_txn, user_km_from_prev_txn,
    case when user_seconds_since_prev_txn > 0
        then user_km_from_prev_txn / (user_seconds_since_prev_txn / 3600) end
        as user_velocity_kmh,
    inputs_as_of
from previous join last_day using (transaction_id)
order by event_timestamp, transaction_id
"""

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


def compute_user_features(transactions: pa.Table, day: date) -> pa.Table:
    """User features of `day`'s transactions; `transactions` covers the 7 days before too."""
    return _run(_USER_SQL, day, transactions=transactions)


def compute_merchant_features(transactions: pa.Table, chargebacks: pa.Table, day: date) -> pa.Table:
    """Merchant features of `day`'s transactions; inputs cover the 30 days before too."""
    return _run(_MERCHANT_SQL, day, transactions=transactions, chargebacks=chargebacks)


def _run(sql: str, day: date, **tables: pa.Table) -> pa.Table:
    with duckdb.connect() as connection:
        # Interval arithmetic on timestamptz follows the session time zone: pin it, so a
        # "24 hour" window never becomes 23 or 25 hours across a DST change.
        connection.execute("set TimeZone = 'UTC'")
        for name, table in tables.items():
            connection.register(name, table)
        start = datetime.combine(day, time(), tzinfo=UTC)
        parameters = {"day": day, "day_start": start, "day_end": start + timedelta(days=1)}
        return connection.execute(sql, parameters).to_arrow_table()
