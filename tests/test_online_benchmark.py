"""Smoke test of the online benchmark's code path at a tiny scale (no timing is checked):
every push contender fills a store the Feast SDK reads back the same, the read contenders
report their latencies, the report renders, and the runner runs contenders in processes."""

from pathlib import Path

import pytest

from benchmarks.feature_store import contenders, data, push, read, report, verify
from benchmarks.feature_store.repo import delete_redis_keys, redis_client
from benchmarks.report import Measurement
from benchmarks.run import run_once

USERS, SEED = 300, 3
SQLITE_PUSHES = {
    contenders.PLAIN_SQLITE: push.plain_sqlite,
    contenders.BULK_SQLITE: push.bulk_sqlite,
    contenders.FLOOR_SQLITE: push.sqlite_floor,
}
REDIS_PUSHES = {
    contenders.PLAIN_REDIS: push.plain_redis,
    contenders.BULK_REDIS: push.bulk_redis,
    contenders.FLOOR_REDIS: push.redis_floor,
    contenders.FLOOR_REDIS_PACKED: push.redis_packed_floor,
}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return data.feature_source(tmp_path_factory.mktemp("online-bench"), USERS, SEED)


def pushed(pushes: dict, source: Path, root: Path) -> tuple[dict, dict]:
    """Each contender's store folder and its result."""
    stores, results = {}, {}
    for name, run in pushes.items():
        stores[name] = root / name.replace(" ", "_").replace(":", "")
        results[name] = run(source, data.DAY, stores[name])
        assert results[name]["users"] == USERS and results[name]["push_seconds"] > 0
    return stores, results


def test_sqlite_contenders_agree_and_report(source: Path, tmp_path: Path):
    stores, results = pushed(SQLITE_PUSHES, source, tmp_path)
    verify.require_agreement(stores, USERS, SEED)
    for folder in stores.values():
        read.write_plan(folder, requests=4, sizes=[1, 3], users=USERS, seed=SEED)
    sdk = read.sdk(stores[contenders.BULK_SQLITE], data.DAY, tmp_path)
    floor = read.sqlite_lookup_floor(stores[contenders.BULK_SQLITE], data.DAY, tmp_path)
    assert sdk["reads"]["3"]["requests"] == floor["reads"]["3"]["requests"] == 4
    assert "with_to_dict" in sdk["reads"]["1"] and "with_to_dict" not in floor["reads"]["1"]
    measurements = [_measurement(name, {"counts": result}) for name, result in results.items()] + [
        _measurement(contenders.READ_BULK_SQLITE, {"counts": sdk})
    ]
    text = report.markdown(measurements, 1, [("data", "tiny")])
    assert "SQLite push at least 10x plain Feast" in text
    assert "SQLite SDK read p99 at most 3 ms, 100 user(s)/request" not in text  # not measured
    assert "SQLite SDK read p99 at most 1 ms, 1 user(s)/request" in text


def _measurement(name: str, repeat: dict) -> Measurement:
    process = {"wall_seconds": 1.0, "cpu_seconds": 1.0, "peak_rss_mib": 1.0}
    return Measurement(name, USERS, [{**process, "rss_after_imports_mib": 1.0, **repeat}])


def test_a_disagreement_fails_loudly(source: Path, tmp_path: Path):
    stores, _ = pushed({contenders.BULK_SQLITE: push.bulk_sqlite}, source, tmp_path)
    rows = verify.sample_rows(USERS, SEED)
    good = verify.read_back(stores[contenders.BULK_SQLITE], rows)
    bad = {**good, "amount_0": [None] * len(rows)}
    problems = verify.differences({contenders.BULK_SQLITE: good, contenders.FLOOR_SQLITE: bad})
    assert problems and "differ" in problems[0]


def test_runner_runs_a_push_and_a_read_in_their_own_processes(source: Path, tmp_path: Path):
    store = tmp_path / "store"
    pushed_result = run_once(
        contenders.BULK_SQLITE, source, tmp_path, tmp_path / "push.log", "online", data.DAY, store
    )
    assert pushed_result["counts"]["users"] == USERS and pushed_result["peak_rss_mib"] > 0
    read.write_plan(store, requests=3, sizes=[2], users=USERS, seed=SEED)
    measured = run_once(
        contenders.READ_BULK_SQLITE, store, tmp_path, tmp_path / "read.log", "online", data.DAY
    )
    assert measured["counts"]["reads"]["2"]["requests"] == 3


@pytest.mark.services
def test_redis_contenders_agree(source: Path, tmp_path: Path):
    try:
        redis_client().ping()
    except Exception as error:
        pytest.skip(f"Redis is not reachable: {error}")
    stores = {}
    try:
        stores, _ = pushed(REDIS_PUSHES, source, tmp_path)
        verify.require_agreement(stores, USERS, SEED)
        read.write_plan(stores[contenders.BULK_REDIS], 3, [2], USERS, SEED)
        floor = read.redis_lookup_floor(stores[contenders.BULK_REDIS], data.DAY, tmp_path)
        assert floor["reads"]["2"]["requests"] == 3
    finally:
        for name in REDIS_PUSHES:
            delete_redis_keys(push.project(name))
