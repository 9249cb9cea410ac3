"""A Feast repository for the online-store benchmark and tests: one user feature view of 10
features over a Parquet file, read by Feast's DuckDB offline store.

The feature table has one row per user and day, at a random instant of the day, with 5
integer counts and 5 float amounts (about 5% of the amounts null). The same builder serves
the 1M-user benchmark and the tests' tiny repositories, each with its own online store.
"""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import redis
import yaml
from feast import Entity, FeatureService, FeatureStore, FeatureView, Field, FileSource
from feast.types import Float64, Int64

from platform_assets.feature_store.online_stores.engine import ENGINE_TYPE
from platform_assets.feature_store.online_stores.redis import STORE_TYPE as BULK_REDIS
from platform_assets.feature_store.online_stores.sqlite import STORE_TYPE as BULK_SQLITE

VIEW = "user_push_features"
SERVICE = "user_push_service"
COUNTS = [f"txn_count_{index}" for index in range(5)]
AMOUNTS = [f"amount_{index}" for index in range(5)]
NULL_SHARE = 0.05
REDIS_CONNECTION = "127.0.0.1:6379"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


def user_ids(users: int) -> pa.Array:
    return pa.array([f"user-{index:08d}" for index in range(users)])


def feature_rows(users: int, day: date, seed: int) -> pa.Table:
    """One row per user at a random microsecond of `day`, created at the next midnight."""
    random = np.random.default_rng(seed)
    start, end = day_bounds(day)
    start_micros = int(start.timestamp()) * 1_000_000
    columns = {"user_id": user_ids(users)}
    for name in COUNTS:
        columns[name] = pa.array(random.integers(0, 1_000, users))
    for name in AMOUNTS:
        columns[name] = pa.array(random.random(users) * 500, mask=random.random(users) < NULL_SHARE)
    moments = start_micros + random.integers(0, 86_400 * 1_000_000, users)
    columns["event_timestamp"] = pa.array(moments, pa.timestamp("us", tz="UTC"))
    columns["created_timestamp"] = pa.array(
        np.full(users, int(end.timestamp()) * 1_000_000), pa.timestamp("us", tz="UTC")
    )
    return pa.table(columns)


def write_source(path: Path, tables: list[pa.Table]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.concat_tables(tables), path)
    return path


def feast_objects(source: Path) -> tuple[Entity, FeatureView, FeatureService]:
    user = Entity(name="user", join_keys=["user_id"])
    view = FeatureView(
        name=VIEW,
        entities=[user],
        ttl=timedelta(days=30),
        schema=[Field(name=name, dtype=Int64) for name in COUNTS]
        + [Field(name=name, dtype=Float64) for name in AMOUNTS],
        source=FileSource(
            path=str(source),
            timestamp_field="event_timestamp",
            created_timestamp_column="created_timestamp",
        ),
    )
    return user, view, FeatureService(name=SERVICE, features=[view])


def online_store(kind: str, bulk: bool, root: Path) -> dict:
    """The `online_store:` section: Feast's stock `sqlite`/`redis`, or this platform's."""
    if kind == "sqlite":
        return {"type": BULK_SQLITE if bulk else "sqlite", "path": str(root / "online.db")}
    return {"type": BULK_REDIS if bulk else "redis", "connection_string": REDIS_CONNECTION}


def write_repo(
    root: Path, project: str, store: dict, source: Path, bulk_engine: bool, **settings
) -> FeatureStore:
    """A repo in `root` holding the view, applied; `settings` are more feature_store.yaml keys."""
    root.mkdir(parents=True, exist_ok=True)
    config = {
        "project": project,
        "provider": "local",
        "registry": str(root / "registry.db"),
        "offline_store": {"type": "duckdb"},
        "online_store": store,
        "entity_key_serialization_version": 3,
        **({"batch_engine": {"type": ENGINE_TYPE}} if bulk_engine else {}),
        **settings,
    }
    (root / "feature_store.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    feature_store = FeatureStore(repo_path=str(root))
    feature_store.apply(list(feast_objects(source)))
    return feature_store


def redis_client() -> redis.Redis:
    host, port = REDIS_CONNECTION.split(":")
    return redis.Redis(host=host, port=int(port))


def delete_redis_keys(project: str) -> int:
    """Delete a Feast project's keys from the shared Redis (they end with the project name);
    the server is never flushed."""
    client, deleted = redis_client(), 0
    batch = []
    for key in client.scan_iter(match=b"*" + project.encode(), count=10_000):
        batch.append(key)
        if len(batch) == 10_000:
            deleted += client.unlink(*batch)
            batch.clear()
    if batch:
        deleted += client.unlink(*batch)
    return deleted
