"""The floor: one hand-written DuckDB query with `ASOF JOIN`, no Feast, no pandas.

Per feature view: entity rows `ASOF LEFT JOIN` the view's rows on the entity key and
`entity time >= feature time`, choosing the latest feature row at or before the row; among
rows at the same event time the later `created_timestamp` wins, as in Feast: the ASOF
inequality runs on one 128-bit key, event time (µs) * 2^63 + created time (µs), and an entity
row's key is its time * 2^63 + (2^63 - 1), so it sits after every feature row of its own
instant. A row older than the view's TTL gives nulls (the entity row is kept). The on-demand
`transaction_context` outputs are computed in the same query, as its pandas definition does
(feature_repo/on_demand_views.py). DuckDB reads the labels file and the Delta tables' Parquet
files itself (file list from the Delta log through deltalake: no DuckDB extension), on all
cores, and the result is sorted by `transaction_id` like the platform's.
"""

import time
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from benchmarks.training_set import output
from benchmarks.training_set.data import LABELS_FILE, MERCHANT_TABLE, USER_TABLE, table_uri
from platform_assets.features.compute import MERCHANT_FEATURE_COLUMNS, USER_FEATURE_COLUMNS
from platform_assets.training import labels

ENTITY_COLUMNS = (*labels.ENTITY_COLUMNS, "label")
VIEWS = (
    # (alias, entity key, features, TTL in days): as declared in feature_repo/feature_views.py
    ("users", "user_id", USER_FEATURE_COLUMNS, 7),
    ("merchants", "merchant_id", MERCHANT_FEATURE_COLUMNS, 30),
)
SHIFT = 2**63
US_PER_DAY = 86_400_000_000


def training_set_sql() -> str:
    views, joins, features = [], [], []
    for alias, key, columns, ttl_days in VIEWS:
        views.append(
            f"""{alias} as (
    select {key}, event_timestamp as feature_time,
        epoch_us(event_timestamp)::hugeint * {SHIFT} + epoch_us(created_timestamp) as asof_key,
        {", ".join(columns)}
    from read_parquet(${alias}_files)
)"""
        )
        joins.append(
            f"asof left join {alias} on {alias}.{key} = entities.{key} "
            f"and entities.asof_key >= {alias}.asof_key"
        )
        fresh = f"{alias}.feature_time >= entities.event_timestamp - interval {ttl_days} day"
        features += [f"case when {fresh} then {alias}.{name} end as {name}" for name in columns]
    seconds_into_day = f"(epoch_us(transaction_time) % {US_PER_DAY}) / 1e6"
    views_sql = ",\n".join(views)
    features_sql = ",\n        ".join(features)
    joins_sql = "\n    ".join(joins)
    return f"""
with entities as (
    select {", ".join(ENTITY_COLUMNS)},
        epoch_us(event_timestamp)::hugeint * {SHIFT} + {SHIFT - 1} as asof_key
    from read_parquet($labels)
    where label_status in ('fraud', 'legit')
),
{views_sql},
joined as (
    select {", ".join(f"entities.{name}" for name in ENTITY_COLUMNS)},
        {features_sql}
    from entities
    {joins_sql}
)
select *,
    case when user_amount_mean_7d > 0 then amount / user_amount_mean_7d end
        as amount_to_user_mean_7d,
    sin(2 * pi() * {seconds_into_day} / 86400) as hour_sin,
    cos(2 * pi() * {seconds_into_day} / 86400) as hour_cos
from joined
order by transaction_id
"""


def delta_files(uri: str) -> list[str]:
    """The Parquet files of the table's current snapshot (never files Delta removed)."""
    return [file.removeprefix("file://") for file in DeltaTable(uri).file_uris()]


def run(data: Path, day, out: Path) -> dict:
    stages = {}
    started = time.perf_counter()
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    parameters = {
        "labels": str(data / LABELS_FILE),
        "users_files": delta_files(table_uri(data, USER_TABLE)),
        "merchants_files": delta_files(table_uri(data, MERCHANT_TABLE)),
    }
    stages["Delta file lists"] = time.perf_counter() - started
    started = time.perf_counter()
    rows: pa.Table = connection.execute(training_set_sql(), parameters).fetch_arrow_table()
    stages["query"] = time.perf_counter() - started
    output.keep(rows, out)
    return {"output_rows": rows.num_rows, "stages": stages}
