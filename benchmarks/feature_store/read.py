"""Read contenders: online requests for random users against a store a push contender left.

Each is `run(store, day, out) -> dict`: `store` is the push contender's folder (its Feast
repo and, for SQLite, its database), holding `read_plan.json` written by the runner: the
number of requests, the users per request, the number of users pushed and a seed. Every
contender gets the same requests. Nothing is timed but the requests themselves; 50
untimed requests come first.

- SDK: `store.get_online_features(features=<FeatureService>, entity_rows=[{"user_id": ...}])`,
  all 10 features of the service; `to_dict()` of the response is timed apart.
- floors: the raw key lookups, keys serialized before the clock starts: SQLite, one
  `SELECT ... WHERE entity_key IN (...)` on the bulk table (no decoding), through a
  connection with the bulk store's `mmap_size`; Redis, one `HMGET` per user of the 10
  feature fields and `_ts:<view>` in one redis-py pipeline.
"""

import json
import sqlite3
import statistics
from collections.abc import Callable
from datetime import date
from pathlib import Path
from time import perf_counter

import numpy as np
import pyarrow as pa
from feast import FeatureStore
from feast.infra.online_stores.helpers import _mmh3
from feast.value_type import ValueType

from benchmarks.feature_store.repo import (
    AMOUNTS,
    COUNTS,
    SERVICE,
    VIEW,
    redis_client,
    user_ids,
)
from platform_assets.feature_store.online_stores.encoding import entity_keys
from platform_assets.feature_store.online_stores.sqlite import BulkSqliteOnlineStore

PLAN_FILE = "read_plan.json"
WARM_UP = 50


def write_plan(store: Path, requests: int, sizes: list[int], users: int, seed: int) -> None:
    plan = {"requests": requests, "sizes": sizes, "users": users, "seed": seed}
    (store / PLAN_FILE).write_text(json.dumps(plan))


def requests_of(plan: dict, size: int) -> list[list[str]]:
    """The user ids of each request (the warm-up first), the same for every contender."""
    random = np.random.default_rng([plan["seed"], size])
    picks = random.integers(0, plan["users"], (WARM_UP + plan["requests"], size))
    ids = user_ids(plan["users"])
    return [ids.take(pa.array(row)).to_pylist() for row in picks]


def _milliseconds(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "p50_ms": 1e3 * statistics.median(ordered),
        "p99_ms": 1e3 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "mean_ms": 1e3 * statistics.fmean(ordered),
        "max_ms": 1e3 * ordered[-1],
    }


def _measure(store: Path, request: Callable[[list[str]], tuple[float, float | None]]) -> dict:
    """Per request size, the latencies `request` reports: its lookup, and for the SDK the
    lookup plus `to_dict()` of the response."""
    plan = json.loads((store / PLAN_FILE).read_text())
    results = {}
    for size in plan["sizes"]:
        requests = requests_of(plan, size)
        for ids in requests[:WARM_UP]:
            request(ids)
        timings = [request(ids) for ids in requests[WARM_UP:]]
        lookups, with_to_dict = zip(*timings, strict=True)
        results[str(size)] = {"requests": len(timings), **_milliseconds(list(lookups))}
        if with_to_dict[0] is not None:
            results[str(size)]["with_to_dict"] = _milliseconds(list(with_to_dict))
    return {"reads": results}


def _timed(function: Callable[[], object]) -> tuple[object, float]:
    started = perf_counter()
    result = function()
    return result, perf_counter() - started


def sdk(store: Path, day: date, out: Path) -> dict:
    feature_store = FeatureStore(repo_path=str(store))
    service = feature_store.get_feature_service(SERVICE)

    def request(ids: list[str]) -> tuple[float, float]:
        rows = [{"user_id": user} for user in ids]
        response, lookup = _timed(
            lambda: feature_store.get_online_features(features=service, entity_rows=rows)
        )
        _, conversion = _timed(response.to_dict)
        return lookup, lookup + conversion

    return _measure(store, request)


def _planned_keys(store: Path) -> dict[tuple[str, ...], list[bytes]]:
    """Every planned request's serialized entity keys, made before anything is timed."""
    plan = json.loads((store / PLAN_FILE).read_text())
    return {
        tuple(ids): entity_keys(pa.table({"user_id": ids}), {"user_id": ValueType.STRING})
        for size in plan["sizes"]
        for ids in requests_of(plan, size)
    }


def sqlite_lookup_floor(store: Path, day: date, out: Path) -> dict:
    feature_store = FeatureStore(repo_path=str(store))
    table = BulkSqliteOnlineStore.table_name(
        feature_store.config, feature_store.get_feature_view(VIEW)
    )
    connection = sqlite3.connect(store / "online.db")
    # The store's own read settings: a floor reading through a slower connection than the
    # store's would not be a floor.
    connection.execute(f"PRAGMA mmap_size={int(feature_store.config.online_store.mmap_size)}")
    keys_of = _planned_keys(store)

    def request(ids: list[str]) -> tuple[float, None]:
        keys = keys_of[tuple(ids)]
        query = (
            f'SELECT entity_key, features FROM "{table}" '
            f"WHERE entity_key IN ({','.join('?' * len(keys))})"
        )
        _, lookup = _timed(lambda: connection.execute(query, keys).fetchall())
        return lookup, None

    return _measure(store, request)


def redis_lookup_floor(store: Path, day: date, out: Path) -> dict:
    project = FeatureStore(repo_path=str(store)).project.encode()
    fields = [_mmh3(f"{VIEW}:{name}") for name in COUNTS + AMOUNTS] + [f"_ts:{VIEW}".encode()]
    client = redis_client()
    keys_of = _planned_keys(store)

    def lookup(keys: list[bytes]) -> list:
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key + project, fields)
            return pipe.execute()

    def request(ids: list[str]) -> tuple[float, None]:
        keys = keys_of[tuple(ids)]
        _, seconds = _timed(lambda: lookup(keys))
        return seconds, None

    return _measure(store, request)
