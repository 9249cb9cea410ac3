"""The bulk Redis online store on the machine's Redis: reads equal Feast's stock store's,
the guard is atomic per entity and understands what the stock store wrote, and a push that
fails midway leaves each entity old or new, completed by a retry.

Every test has its own Feast project, so its own keys (`<entity key><project>`), and deletes
them afterwards; the server is shared with other tests and is never flushed.
"""

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from benchmarks.feature_store.repo import (
    COUNTS,
    REDIS_CONNECTION,
    VIEW,
    delete_redis_keys,
    redis_client,
)
from platform_assets.feature_store.online_stores import redis as bulk_redis
from tests.feature_store.online_repos import (
    NEW_DAY,
    OLD_DAY,
    USERS,
    day_rows,
    push,
    read,
    repo,
    states,
    two_day_source,
    users,
)

pytestmark = pytest.mark.services


@pytest.fixture
def client() -> redis.Redis:
    connection = redis_client()
    try:
        connection.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_CONNECTION}: {error}")
    return connection


@pytest.fixture
def project(client: redis.Redis) -> Iterator[str]:
    """A project name of this test's own; its keys are deleted afterwards. (Asks for
    `client` so that the test is skipped when Redis is down.)"""
    name = f"online_test_{secrets.token_hex(4)}"
    yield name
    delete_redis_keys(name)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return two_day_source(tmp_path / "source")


@pytest.mark.parametrize("bulk_engine", [True, False], ids=["bulk engine", "local engine"])
def test_reads_equal_stock_feast(tmp_path, source, project, bulk_engine):
    stock = repo(tmp_path / "stock", source, "redis", False, project + "_stock")
    bulk = repo(tmp_path / "bulk", source, "redis", True, project, bulk_engine)
    for store in (stock, bulk):
        push(store, NEW_DAY)
    rows = [*users(), {"user_id": "nobody"}, {"user_id": "user-00000003"}]
    try:
        assert read(bulk, rows) == read(stock, rows)
    finally:
        stock.teardown()


def test_an_older_window_never_overwrites_a_newer_one(tmp_path, source, project):
    bulk = repo(tmp_path / "bulk", source, "redis", True, project)
    push(bulk, NEW_DAY)
    push(bulk, OLD_DAY)
    assert states(read(bulk)) == ["new"] * USERS


def test_an_equal_timestamp_overwrites_so_a_retry_is_idempotent(tmp_path, source, project):
    bulk = repo(tmp_path / "bulk", source, "redis", True, project)
    push(bulk, NEW_DAY)
    first = read(bulk)
    push(bulk, NEW_DAY)
    assert read(bulk) == first
    corrected = day_rows(NEW_DAY).to_pandas()
    corrected[COUNTS[0]] = 7
    bulk.write_to_online_store(VIEW, corrected)
    assert read(bulk)[COUNTS[0]] == [7] * USERS


def test_the_guard_reads_the_timestamps_the_stock_store_wrote(tmp_path, source, project):
    """Both stores on the same keys: the stock one pushes the newer day, the bulk one the
    older day, which must not land."""
    stock = repo(tmp_path / "stock", source, "redis", False, project)
    bulk = repo(tmp_path / "bulk", source, "redis", True, project)
    push(stock, NEW_DAY)
    push(bulk, OLD_DAY)
    assert states(read(stock)) == ["new"] * USERS


def test_a_crash_inside_a_push_leaves_old_or_new_values_and_a_retry_completes_it(
    tmp_path, source, project, monkeypatch
):
    bulk = repo(tmp_path / "bulk", source, "redis", True, project)
    push(bulk, OLD_DAY)
    root = tmp_path / "bulk_small_pipelines"
    # Scripts of 3 entities, 2 scripts per round trip.
    settings = {"entities_per_script": 3, "pipeline_rows": 6}
    small_pipelines = repo(root, source, "redis", True, project, store_settings=settings)
    original, calls = bulk_redis.send_packed, []

    def send_one_then_fail(client, commands):
        calls.append(len(commands))
        if len(calls) < 2:
            return original(client, commands)
        original(client, commands[:1])
        raise RuntimeError("crash inside the push")

    with monkeypatch.context() as patch:
        patch.setattr(bulk_redis, "send_packed", send_one_then_fail)
        with pytest.raises(RuntimeError, match="crash inside the push"):
            push(small_pipelines, NEW_DAY)
    # The first round trip (6 entities) and one script of the second (3) landed, each whole.
    assert sorted(states(read(bulk))) == ["new"] * 9 + ["old"] * (USERS - 9)
    push(small_pipelines, NEW_DAY)
    assert states(read(bulk)) == ["new"] * USERS
