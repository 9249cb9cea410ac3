"""Smoke test of the feature benchmark's code path at a tiny scale (no timing is checked):
the generated silver data is what silver holds, and the contenders agree with the platform."""

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from benchmarks.features import duckdb_floor, pandas_baseline, verify
from benchmarks.features.contenders import FLOOR
from benchmarks.features.data import DAY, DAYS, silver_lake
from benchmarks.features.output import FEATURES_TABLE, SILVER_TABLE
from benchmarks.features.platform import run_functions
from benchmarks.run import run_once
from platform_assets.features.assets import USER_FEATURES, _read_input
from platform_assets.features.compute import compute_user_features
from platform_assets.ingest.sources import TRANSACTIONS
from platform_assets.lake.assets import silver_key
from platform_assets.lake.schemas import SilverTransactions
from platform_assets.pandera_checks import schema_problems
from platform_assets.resources import LakeResource
from platform_assets.tables import table_path

ROWS = 3_000


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    return silver_lake(tmp_path_factory.mktemp("bench"), ROWS, seed=3)


def test_paths_are_the_platforms():
    assert table_path(silver_key(TRANSACTIONS)) == SILVER_TABLE
    assert table_path(USER_FEATURES.key) == FEATURES_TABLE


def test_generated_days_are_valid_silver(lake: Path):
    rows = DeltaTable(str(lake / SILVER_TABLE)).to_pyarrow_dataset().to_table()
    assert rows.num_rows == ROWS * DAYS
    assert pc.count_distinct(rows["event_date"]).as_py() == DAYS
    assert schema_problems(SilverTransactions, rows) == []


def test_contenders_agree(lake: Path, tmp_path: Path):
    written = {}
    for name, run in {
        "platform": run_functions,
        "pandas": pandas_baseline.run,
        "floor": duckdb_floor.run,
    }.items():
        out = tmp_path / name
        counts = run(lake, DAY, out)
        written[name] = verify.written_rows(out, DAY)
        assert counts["feature_rows"] == written[name].num_rows == ROWS
    verify.require_agreement(written, reference="platform")


def test_the_asset_reads_give_what_one_table_of_silver_gives(lake: Path, tmp_path: Path):
    """The asset's narrow per-part reads and one table of every silver column agree."""
    rows = DeltaTable(str(lake / SILVER_TABLE)).to_pyarrow_dataset().to_table()
    resource = LakeResource(root=str(lake))
    inputs = [_read_input(resource, read) for read in USER_FEATURES.reads(DAY, DAY)]
    assert [table.num_rows for table in inputs] == [2 * ROWS, 6 * ROWS]
    assert "merchant_id" not in inputs[1].column_names
    expected = compute_user_features(rows, DAY)
    assert verify.differences(expected, compute_user_features(inputs, DAY)) == []


def _edge_cases() -> pa.Table:
    """Transactions on window edges and tied in time, for two users, around DAY."""
    day_start = datetime.combine(DAY, time(), UTC)
    hour, day = timedelta(hours=1), timedelta(days=1)
    events = [  # (user, merchant, time, id suffix)
        ("u1", "m1", day_start - 7 * day, "a"),  # exactly 7 days before the next one
        ("u1", "m2", day_start - 7 * day + hour, "b"),
        ("u1", "m1", day_start, "c"),
        ("u1", "m1", day_start + hour, "d"),  # 1h after c: c is in its 1h window
        ("u1", "m3", day_start + day - timedelta(microseconds=1), "e"),
        ("u2", "m1", day_start - day, "f"),
        ("u2", "m2", day_start - day, "g"),  # tied with f: the previous one of h is g
        ("u2", "m1", day_start, "h"),  # exactly 24h after f and g
        ("u2", "m2", day_start, "i"),  # tied with h, other merchant
        ("u2", "m2", day_start, "j"),  # tied with h and i, same merchant as i
        ("u2", "m1", day_start + 25 * hour - day, "k"),
    ]
    return pa.table(
        {
            "transaction_id": [f"tx-{suffix}" for *_, suffix in events],
            "user_id": [user for user, *_ in events],
            "merchant_id": [merchant for _, merchant, *_ in events],
            "amount": [float(index + 1) for index in range(len(events))],
            "location_lat": [10.0 + index for index in range(len(events))],
            "location_lon": [20.0 - index for index in range(len(events))],
            "event_time": pa.array([at for _, _, at, _ in events], pa.timestamp("us", "UTC")),
            "event_date": pa.array([at.date() for _, _, at, _ in events], pa.date32()),
            "_ingested_at": pa.array(
                [day_start + 2 * day] * len(events), pa.timestamp("us", "UTC")
            ),
        }
    )


def test_floor_and_pandas_on_window_edges_and_ties(tmp_path: Path):
    """The floor (the platform's query over the Parquet files of each day) and pandas give
    the platform's values on window edges and ties."""
    rows = _edge_cases()
    expected = compute_user_features(rows, DAY)
    assert expected.num_rows == 7
    silver = LakeResource(root=str(tmp_path))
    for day in sorted(set(rows["event_date"].to_pylist())):
        day_rows = rows.filter(pc.equal(rows["event_date"], day))
        silver.replace_partition(SILVER_TABLE, day_rows, "event_date", day)
    floor = duckdb_floor.compute(DeltaTable(str(tmp_path / SILVER_TABLE)), DAY)
    assert verify.differences(expected, floor) == []
    frame = pandas_baseline.compute(rows.to_pandas(), DAY)
    assert verify.differences(expected, pa.Table.from_pandas(frame, preserve_index=False)) == []


def test_a_disagreement_fails_loudly(lake: Path, tmp_path: Path):
    duckdb_floor.run(lake, DAY, tmp_path)
    rows = verify.written_rows(tmp_path, DAY)
    column = rows.schema.get_field_index("user_txn_count_24h")
    changed = pc.add(rows["user_txn_count_24h"], pa.scalar(1, pa.int64()))
    with pytest.raises(verify.Disagreement, match="user_txn_count_24h"):
        verify.require_agreement(
            {"a": rows, "b": rows.set_column(column, "user_txn_count_24h", changed)},
            reference="a",
        )


def test_runner_runs_a_contender_in_its_own_process(lake: Path, tmp_path: Path):
    measured = run_once(FLOOR, lake, tmp_path, tmp_path / "floor.log", "features", DAY)
    assert measured["counts"]["feature_rows"] == ROWS
    assert measured["wall_seconds"] > 0 and measured["peak_rss_mib"] > 0
