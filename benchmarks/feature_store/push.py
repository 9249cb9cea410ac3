"""Push contenders: one day's features of every user into an empty online store.

Each is `run(source, day, out) -> dict`: `source` holds the day's Parquet file, `out` is
the contender's own folder, kept after the run so the read contenders and the agreement
check can open the store there. Setting up the Feast repo (`apply`, and emptying the Redis
keys of the contender's project) is not timed; `push_seconds` is the push alone.

- plain Feast: `FeatureStore.materialize(start, end, feature_views=[view])` with Feast's
  stock `sqlite` / `redis` online store and default settings (local engine, one batch).
- bulk: the same call with this platform's online store and batch engine.
- floors: no Feast at push time. Read the Parquet file with pyarrow, encode the rows
  column-wise (the bulk stores' encoder, the fastest we have) and write them with no guard:
  SQLite, one plain `INSERT` `executemany` in one transaction into the bulk layout; Redis,
  `HSET` of Feast's layout through a redis-py pipeline (10,000 per round trip), and the
  same `HSET`s packed column-wise and sent as one write per 10,000.
"""

import re
import sqlite3
from datetime import date
from pathlib import Path
from time import perf_counter

import pyarrow as pa
import pyarrow.parquet as pq
from feast import FeatureStore
from feast.infra.online_stores.helpers import _mmh3

from benchmarks.feature_store import contenders as names
from benchmarks.feature_store.data import SOURCE_FILE
from benchmarks.feature_store.repo import (
    VIEW,
    day_bounds,
    delete_redis_keys,
    online_store,
    redis_client,
    write_repo,
)
from platform_assets.feature_store.online_stores.encoding import (
    encode_table,
    entity_keys,
    feature_columns,
    join_key_types,
    resp_commands,
    timestamp_micros,
    timestamp_proto_bytes,
)
from platform_assets.feature_store.online_stores.redis import send_packed
from platform_assets.feature_store.online_stores.sqlite import BulkSqliteOnlineStore

PIPELINE_ROWS = 10_000
STORES = {
    names.PLAIN_SQLITE: ("sqlite", False),
    names.BULK_SQLITE: ("sqlite", True),
    names.FLOOR_SQLITE: ("sqlite", True),  # the bulk store's layout, to read it back
    names.PLAIN_REDIS: ("redis", False),
    names.BULK_REDIS: ("redis", True),
    names.FLOOR_REDIS: ("redis", False),
    names.FLOOR_REDIS_PACKED: ("redis", False),
}
"""Each push contender's online store: its kind, and whether it is the bulk one."""


def project(contender: str) -> str:
    """The Feast project of a contender's store: its own keys in the shared Redis."""
    return "bench_online_" + re.sub(r"[^a-z0-9]+", "_", contender.lower()).strip("_")


def prepare(out: Path, source: Path, contender: str) -> FeatureStore:
    """The contender's repo in `out`, applied, on an empty store."""
    kind, bulk = STORES[contender]
    if kind == "redis":
        delete_redis_keys(project(contender))
    repo = online_store(kind, bulk, out)
    return write_repo(out, project(contender), repo, source / SOURCE_FILE, bulk_engine=bulk)


def _counts(source: Path, seconds: float) -> dict:
    return {"users": pq.read_metadata(source / SOURCE_FILE).num_rows, "push_seconds": seconds}


def _materialize(source: Path, day: date, out: Path, contender: str) -> dict:
    feature_store = prepare(out, source, contender)
    started = perf_counter()
    feature_store.materialize(*day_bounds(day), feature_views=[VIEW])
    return _counts(source, perf_counter() - started)


def plain_sqlite(source: Path, day: date, out: Path) -> dict:
    return _materialize(source, day, out, names.PLAIN_SQLITE)


def bulk_sqlite(source: Path, day: date, out: Path) -> dict:
    return _materialize(source, day, out, names.BULK_SQLITE)


def plain_redis(source: Path, day: date, out: Path) -> dict:
    return _materialize(source, day, out, names.PLAIN_REDIS)


def bulk_redis(source: Path, day: date, out: Path) -> dict:
    return _materialize(source, day, out, names.BULK_REDIS)


def sqlite_floor(source: Path, day: date, out: Path) -> dict:
    """Plain INSERTs into the bulk store's layout (readable by it, for the agreement check)."""
    feature_store = prepare(out, source, names.FLOOR_SQLITE)
    view = feature_store.get_feature_view(VIEW)
    table = BulkSqliteOnlineStore.table_name(feature_store.config, view)
    started = perf_counter()
    rows = encode_table(pq.read_table(source / SOURCE_FILE), view)
    connection = sqlite3.connect(out / "online.db")
    with connection:
        connection.execute(
            f'INSERT INTO "{table}__layouts" VALUES (1, ?)', (",".join(rows.feature_names),)
        )
        connection.executemany(
            f'INSERT INTO "{table}" VALUES (?, ?, ?, 1, ?)',
            zip(
                rows.entity_keys,
                rows.event_micros.tolist(),
                rows.created_micros.tolist(),
                rows.features,
                strict=True,
            ),
        )
    seconds = perf_counter() - started
    connection.close()
    return _counts(source, seconds)


def _redis_columns(feature_store: FeatureStore, table: pa.Table) -> tuple:
    """Feast's Redis layout of the rows: keys, `_ts:<view>` and the feature fields."""
    view = feature_store.get_feature_view(VIEW)
    suffix = feature_store.project.encode()
    keys = [key + suffix for key in entity_keys(table, join_key_types(view))]
    stamps = timestamp_proto_bytes(timestamp_micros(table[view.batch_source.timestamp_field]))
    features = {
        _mmh3(f"{VIEW}:{name}"): values for name, values in feature_columns(table, view).items()
    }
    return keys, {f"_ts:{VIEW}".encode(): stamps, **features}


def redis_floor(source: Path, day: date, out: Path) -> dict:
    feature_store = prepare(out, source, names.FLOOR_REDIS)
    started = perf_counter()
    keys, fields = _redis_columns(feature_store, pq.read_table(source / SOURCE_FILE))
    field_names, columns = list(fields), [values.to_pylist() for values in fields.values()]
    with redis_client().pipeline(transaction=False) as pipe:
        for row, (key, *values) in enumerate(zip(keys, *columns, strict=True), start=1):
            pipe.hset(key, mapping=dict(zip(field_names, values, strict=True)))
            if row % PIPELINE_ROWS == 0:
                pipe.execute()
        pipe.execute()
    return _counts(source, perf_counter() - started)


def redis_packed_floor(source: Path, day: date, out: Path) -> dict:
    feature_store = prepare(out, source, names.FLOOR_REDIS_PACKED)
    started = perf_counter()
    keys, fields = _redis_columns(feature_store, pq.read_table(source / SOURCE_FILE))
    arguments = [part for name, values in fields.items() for part in (name, values)]
    commands = resp_commands([b"HSET", pa.array(keys, pa.large_binary()), *arguments], len(keys))
    client = redis_client()
    for start in range(0, len(commands), PIPELINE_ROWS):
        send_packed(client, commands[start : start + PIPELINE_ROWS])
    return _counts(source, perf_counter() - started)
