"""Smoke test of the training-set benchmark at a tiny scale (no timing is checked): the
generated tables are valid feature tables, every case of the join occurs, and the runner's
suite verifies and measures every contender in its own process."""

from argparse import Namespace
from pathlib import Path

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from benchmarks.run import measure, run_once
from benchmarks.training_set import contenders, data, report, suite, verify
from platform_assets.features.schemas import MERCHANT_FEATURES_SCHEMA, USER_FEATURES_SCHEMA
from platform_assets.pandera_checks import schema_problems
from platform_assets.training.labels import LABELS_SCHEMA

ROWS = 2_000


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("training-bench")


def test_generated_tables_are_the_platforms(work_dir: Path):
    folder = data.training_data(work_dir, ROWS, seed=3)
    for table, schema in (
        (data.USER_TABLE, USER_FEATURES_SCHEMA),
        (data.MERCHANT_TABLE, MERCHANT_FEATURES_SCHEMA),
    ):
        delta = DeltaTable(data.table_uri(folder, table))
        assert delta.metadata().partition_columns == ["event_date"]
        rows = delta.to_pyarrow_dataset().to_table()
        assert rows.num_rows == ROWS * data.TRANSACTIONS_PER_ENTITY_ROW * 101 // 100
        assert schema_problems(schema, rows) == []
    labels = data.read_labels(folder)
    assert labels.schema == LABELS_SCHEMA
    assert labels.num_rows == ROWS
    assert pc.count_distinct(labels["transaction_id"]).as_py() == ROWS


def test_suite_verifies_and_measures_every_contender(work_dir: Path):
    args = Namespace(
        rows=ROWS,
        file_store_rows=ROWS,
        contender=list(contenders.CONTENDERS),
        seed=3,
        work_dir=work_dir,
        repeats=1,
        no_verify=False,
    )
    measurements, facts, render = suite.run(args, run_once, measure)
    by_name = {m.contender: m for m in measurements if m.rows == ROWS}
    platform = by_name[contenders.PLATFORM].counts
    assert platform["output_rows"] == platform["entity_rows"] == ROWS
    assert platform["agreement"]["agrees"]
    assert by_name[contenders.PLATFORM_WITH_CHECK].counts["agreement"]["agrees"]
    probe = by_name[contenders.PLATFORM_WITH_CHECK].counts["probe"]
    assert all(v["after_row"] == v["beyond_ttl"] == 0 for v in probe.values())
    assert all(v["missing"] > 0 for v in probe.values())  # nulls are there, rows kept
    # The file store's differences are recorded, not hidden: it drops rows.
    files = by_name[contenders.FILE_STORE].counts
    assert files["agreement"]["missing_rows"] > 0
    assert files["output_rows"] < ROWS
    text = render(measurements, 1, facts)
    assert "platform within 1.5x of the floor" in text and "file store" in text


def test_floor_nulls_rows_outside_the_ttl_and_keeps_them(work_dir: Path, tmp_path: Path):
    """The reference itself: every entity row comes back; users idle for longer than 7 days
    and rows before the first feature day have no user features."""
    from benchmarks.training_set import duckdb_floor, output

    folder = data.training_data(work_dir, ROWS, seed=3)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(output.WRITE_VARIABLE, "1")
        duckdb_floor.run(folder, data.DAY, tmp_path)
    table = output.read(tmp_path)
    assert table.num_rows == ROWS
    missing = pc.sum(pc.is_null(table["user_txn_count_7d"])).as_py()
    assert missing >= ROWS * 0.15  # idle 10%, new 5%, before the first day 3%
    assert verify.compare("floor", table, table).agrees
    assert report.FLOOR_RATIO_LIMIT == 1.5
