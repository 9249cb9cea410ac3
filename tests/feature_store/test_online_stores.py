"""The bulk SQLite online store and materialization engine: what the Feast SDK reads back
equals what it reads from Feast's stock store, an older window never overwrites a newer
one, an equal timestamp overwrites (a retry is idempotent), and a push that fails midway
leaves every entity readable with its old or its new values, completed by a retry.

Tiny repositories in tmp_path: Parquet source, DuckDB offline store, their own online.db.
"""

import dataclasses
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from feast import FeatureStore
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value
from feast.value_type import ValueType
from google.protobuf.timestamp_pb2 import Timestamp

from benchmarks.feature_store.repo import (
    AMOUNTS,
    COUNTS,
    SERVICE,
    VIEW,
    day_bounds,
    write_source,
)
from platform_assets.feature_store.online_stores import encoding
from platform_assets.feature_store.online_stores.sqlite import BulkSqliteOnlineStore
from tests.feature_store.online_repos import (
    NEW_DAY,
    OLD_DAY,
    USERS,
    day_rows,
    day_values,
    per_user,
    push,
    read,
    repo,
    states,
    two_day_source,
    users,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return two_day_source(tmp_path / "source")


def entity_key(user: str) -> EntityKey:
    return EntityKey(join_keys=["user_id"], entity_values=[Value(string_val=user)])


def bulk_repo(root: Path, source: Path, bulk_engine: bool = True, **settings) -> FeatureStore:
    return repo(root, source, "sqlite", True, "bulk", bulk_engine, **settings)


def stock_repo(root: Path, source: Path) -> FeatureStore:
    return repo(root, source, "sqlite", False, "stock")


# --- encodings: byte for byte what Feast builds ---------------------------------------


@pytest.mark.parametrize(
    ("array", "value_type", "field"),
    [
        (
            pa.array([0, 1, -1, 127, 128, 2**31, -(2**63), 2**63 - 1, None]),
            ValueType.INT64,
            "int64_val",
        ),
        (pa.array([0, -5, 2**31 - 1, None], pa.int32()), ValueType.INT32, "int32_val"),
        (pa.array([0.0, -0.0, 1.5, float("inf"), 1e300, None]), ValueType.DOUBLE, "double_val"),
        (pa.array([0.0, 2.5, None], pa.float32()), ValueType.FLOAT, "float_val"),
        (pa.array([True, False, None]), ValueType.BOOL, "bool_val"),
        (pa.array(["a", "é" * 200, "", None]), ValueType.STRING, "string_val"),
    ],
)
def test_value_bytes_equal_feasts(array, value_type, field):
    expected = [
        b"" if value is None else Value(**{field: value}).SerializeToString()
        for value in array.to_pylist()
    ]
    assert encoding.value_bytes(array, value_type).to_pylist() == expected


def test_float_nan_is_a_null_as_in_feast():
    assert encoding.value_bytes(pa.array([float("nan")]), ValueType.DOUBLE).to_pylist() == [b""]


def test_entity_keys_equal_feasts():
    table = pa.table({"user_id": ["u1", "user-22", ""], "shard": [3, -1, 2**40]})
    types = {"user_id": ValueType.STRING, "shard": ValueType.INT64}
    proto = {
        "user_id": lambda raw: Value(string_val=raw),
        "shard": lambda raw: Value(int64_val=raw),
    }
    for names in (["user_id"], ["shard", "user_id"]):
        protos = {name: [proto[name](raw) for raw in table[name].to_pylist()] for name in names}
        expected = [
            serialize_entity_key(
                EntityKey(join_keys=names, entity_values=[protos[name][row] for name in names]), 3
            )
            for row in range(table.num_rows)
        ]
        assert encoding.entity_keys(table, {name: types[name] for name in names}) == expected
        assert encoding.proto_entity_keys(protos) == expected


def test_timestamp_protos_equal_feasts():
    moments = [
        datetime(2024, 1, 8, tzinfo=UTC),
        datetime(2024, 1, 8, 3, 4, 5, 123456, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
    ]
    expected = []
    for moment in moments:
        stamp = Timestamp()
        stamp.FromDatetime(moment)
        expected.append(stamp.SerializeToString())
    micros = np.array([encoding.datetime_micros(moment) for moment in moments])
    assert encoding.timestamp_proto_bytes(micros).to_pylist() == expected


# --- what the SDK reads back --------------------------------------------------------


@pytest.mark.parametrize("bulk_engine", [True, False], ids=["bulk engine", "local engine"])
def test_reads_equal_stock_feast(tmp_path: Path, source: Path, bulk_engine: bool):
    stock = stock_repo(tmp_path / "stock", source)
    bulk = bulk_repo(tmp_path / "bulk", source, bulk_engine)
    for store in (stock, bulk):
        push(store, NEW_DAY)
    # A missing user, a repeated one, and a subset of the features by reference.
    rows = [*users(), {"user_id": "nobody"}, {"user_id": "user-00000003"}]
    assert read(bulk, rows) == read(stock, rows)
    references = [f"{VIEW}:{AMOUNTS[0]}", f"{VIEW}:{COUNTS[2]}"]
    for features in (stock.get_feature_service(SERVICE), references):
        # The whole response, statuses included, byte for byte.
        responses = [
            store.get_online_features(
                features=features, entity_rows=rows, full_feature_names=True
            ).proto.SerializeToString()
            for store in (stock, bulk)
        ]
        assert responses[1] == responses[0]
    direct = [
        store._get_provider().online_store.online_read(
            store.config, store.get_feature_view(VIEW), [entity_key("user-00000001")]
        )
        for store in (stock, bulk)
    ]
    assert direct[1] == direct[0]
    response = read(bulk, rows)
    assert response[AMOUNTS[0]][USERS] is None and response[COUNTS[0]][USERS] is None


def test_the_bulk_engine_keeps_the_rows_feasts_dedup_keeps(tmp_path: Path):
    """Several rows per user in one window: the latest event wins, then the latest created."""
    first, second = day_rows(NEW_DAY), day_rows(NEW_DAY, seed=3)
    recreated = first.set_column(
        first.schema.get_field_index("created_timestamp"),
        "created_timestamp",
        pc.add(first["created_timestamp"], pa.scalar(3_600_000_000, pa.duration("us"))),
    ).set_column(first.schema.get_field_index(COUNTS[0]), COUNTS[0], pa.array([9] * USERS))
    source = write_source(tmp_path / "source" / "features.parquet", [first, second, recreated])
    stock, bulk = stock_repo(tmp_path / "stock", source), bulk_repo(tmp_path / "bulk", source)
    for store in (stock, bulk):
        push(store, NEW_DAY)
    assert read(bulk) == read(stock)
    assert 9 in read(bulk)[COUNTS[0]]


def test_reads_equal_stock_feast_through_write_to_online_store(tmp_path: Path, source: Path):
    frame = day_rows(NEW_DAY).to_pandas()
    stores = [stock_repo(tmp_path / "stock", source), bulk_repo(tmp_path / "bulk", source)]
    for store in stores:
        store.write_to_online_store(VIEW, frame)
    assert read(stores[1]) == read(stores[0])


def test_a_feature_added_to_the_view_reads_as_missing_until_pushed(tmp_path: Path, source):
    """Rows keep the feature names they were written with (their layout)."""
    bulk = bulk_repo(tmp_path / "bulk", source)
    push(bulk, NEW_DAY)
    view = bulk.get_feature_view(VIEW)
    removed = view.features.pop(0)
    bulk.apply([view])
    view.features.append(removed)
    bulk.apply([view])
    response = bulk.get_online_features(
        features=[f"{VIEW}:{removed.name}", f"{VIEW}:{AMOUNTS[1]}"], entity_rows=users(2)
    ).to_dict()
    assert response[AMOUNTS[1]] == [row[AMOUNTS[1]] for row in day_values(NEW_DAY)[:2]]
    push(bulk, NEW_DAY)
    assert read(bulk)[removed.name] == [row[removed.name] for row in day_values(NEW_DAY)]


# --- the guard ----------------------------------------------------------------------


@pytest.mark.parametrize("bulk_engine", [True, False], ids=["bulk engine", "local engine"])
def test_an_older_window_never_overwrites_a_newer_one(tmp_path, source, bulk_engine):
    bulk = bulk_repo(tmp_path / "bulk", source, bulk_engine)
    push(bulk, NEW_DAY)
    newer = read(bulk)
    push(bulk, OLD_DAY)
    assert read(bulk) == newer
    assert per_user(newer) == day_values(NEW_DAY)


def test_an_equal_timestamp_overwrites_so_a_retry_is_idempotent(tmp_path, source):
    bulk = bulk_repo(tmp_path / "bulk", source)
    push(bulk, NEW_DAY)
    first = read(bulk)
    push(bulk, NEW_DAY)
    assert read(bulk) == first
    corrected = day_rows(NEW_DAY).to_pandas()
    corrected[COUNTS[0]] = 7  # same event timestamps, new values
    bulk.write_to_online_store(VIEW, corrected)
    assert read(bulk)[COUNTS[0]] == [7] * USERS


def test_a_newer_row_replaces_an_older_one_within_a_batch(tmp_path, source):
    bulk = bulk_repo(tmp_path / "bulk", source)
    older = day_rows(OLD_DAY).slice(0, 2)
    newer = day_rows(NEW_DAY).slice(0, 2)
    bulk.write_to_online_store(VIEW, pa.concat_tables([newer, older]).to_pandas())
    assert per_user(read(bulk, users(2))) == day_values(NEW_DAY)[:2]


# --- a push that fails midway ---------------------------------------------------------


def _fail_inside_second_batch(monkeypatch) -> None:
    """From the second batch on, raise inside `executemany`, after the batch's first row."""
    original, batches = encoding.EncodedRows.sorted_by_key, []

    def failing(self):
        rows = original(self)
        batches.append(len(rows))
        if len(batches) < 2:
            return rows

        def one_then_fail():
            yield rows.features[0]
            raise RuntimeError("crash inside the push")

        return dataclasses.replace(rows, features=one_then_fail())

    monkeypatch.setattr(encoding.EncodedRows, "sorted_by_key", failing)


def test_a_crash_inside_a_push_leaves_old_or_new_values_and_a_retry_completes_it(
    tmp_path, source, monkeypatch
):
    bulk = bulk_repo(tmp_path / "bulk", source, materialization={"online_write_batch_size": 5})
    push(bulk, OLD_DAY)
    with monkeypatch.context() as patch:
        _fail_inside_second_batch(patch)
        with pytest.raises(RuntimeError, match="crash inside the push"):
            push(bulk, NEW_DAY)
    # The first batch (5 rows) committed; the second rolled back, with the row it had written.
    assert sorted(states(read(bulk))) == ["new"] * 5 + ["old"] * (USERS - 5)
    push(bulk, NEW_DAY)
    assert states(read(bulk)) == ["new"] * USERS


def test_readers_read_the_last_commit_while_a_push_writes(tmp_path, source):
    """WAL: another connection reads while a write transaction is open."""
    bulk = bulk_repo(tmp_path / "bulk", source)
    push(bulk, OLD_DAY)
    reader = FeatureStore(repo_path=str(tmp_path / "bulk"))
    before = read(reader)
    writer = bulk._get_provider().online_store._get_conn(bulk.config)
    writer.execute("BEGIN IMMEDIATE")
    table = BulkSqliteOnlineStore.table_name(bulk.config, bulk.get_feature_view(VIEW))
    writer.execute(f'DELETE FROM "{table}"')
    assert read(reader) == before
    writer.rollback()


# --- the feast CLI ------------------------------------------------------------------


def test_feast_apply_and_materialize_commands_work(tmp_path: Path, source: Path):
    root = tmp_path / "cli"
    bulk_repo(root, source)  # writes feature_store.yaml
    (root / "repo.py").write_text(
        "from pathlib import Path\n"
        "from benchmarks.feature_store.repo import feast_objects\n"
        f"user, view, service = feast_objects(Path({str(source)!r}))\n"
    )
    feast = [str(Path(sys.executable).parent / "feast")]
    environment = {"PYTHONPATH": str(REPO_ROOT), "PATH": str(Path(sys.executable).parent)}
    start, end = (moment.isoformat() for moment in day_bounds(NEW_DAY))
    for command in (["apply"], ["materialize", start, end, "--views", VIEW]):
        subprocess.run(
            [*feast, *command], cwd=root, env=environment, check=True, capture_output=True
        )
    assert per_user(read(FeatureStore(repo_path=str(root)))) == day_values(NEW_DAY)
