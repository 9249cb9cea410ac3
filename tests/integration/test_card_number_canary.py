"""Canary: a known card number and the tokenization key appear nowhere after a run.

Searched: every cell of every Delta table (parquet is compressed, so its bytes alone
prove nothing), the raw bytes of every file the platform wrote (Delta logs, SQLite event
log, compute logs), and every event of every run in the Dagster event log.
"""

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from dagster._serdes import serialize_value
from deltalake import DeltaTable

from tests.conftest import TEST_KEY


def delta_tables(lake_root: Path) -> list[Path]:
    return sorted(path.parent for path in lake_root.rglob("_delta_log"))


def cells_containing(table: pa.Table, needle: str) -> int:
    hits = 0
    for column in table.columns:
        text = pc.cast(column, pa.string()) if not pa.types.is_string(column.type) else column
        hits += pc.sum(pc.match_substring(text, needle)).as_py() or 0
    return hits


def test_card_number_and_key_appear_nowhere(materialized_lake):
    truth = materialized_lake.truth.transactions
    clean = truth[truth["expected_outcome"] == "silver"]
    canary_card = clean["card_number"].iloc[0]
    quarantined = truth[truth["expected_outcome"] == "quarantine"]
    # The canary is only meaningful if raw lines with card numbers reached the quarantine.
    assert quarantined["defect"].notna().any()

    tables = delta_tables(materialized_lake.root / "lake")
    assert len(tables) >= 8
    for path in tables:
        table = DeltaTable(str(path)).to_pyarrow_table()
        for needle in (canary_card, TEST_KEY):
            assert cells_containing(table, needle) == 0, (path, needle)

    written = [materialized_lake.root / "lake", materialized_lake.root / "dagster_home"]
    for folder in written:
        for file in (p for p in folder.rglob("*") if p.is_file()):
            data = file.read_bytes()
            assert canary_card.encode() not in data, file
            assert TEST_KEY.encode() not in data, file

    instance = materialized_lake.instance
    runs = instance.get_runs()
    assert runs
    for run in runs:
        for event in instance.all_logs(run.run_id):
            serialized = serialize_value(event)
            assert canary_card not in serialized and TEST_KEY not in serialized
