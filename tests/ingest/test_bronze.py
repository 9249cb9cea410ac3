"""A batch of landing files -> bronze rows + quarantine; every source row accounted for."""

import hashlib
from datetime import UTC, date, datetime

import pytest

from platform_assets.ingest.bronze import LandingFile, bronze_schema, ingest_batch
from platform_assets.ingest.parsing import BatchRejected
from platform_assets.ingest.sources import TRANSACTIONS
from platform_assets.ingest.tokenization import CardTokenizer
from tests.records import CARD, csv_file, jsonl, transaction

DAY = date(2024, 1, 2)
NOW = datetime(2024, 1, 5, tzinfo=UTC)


def ingest(*files, elsewhere=None):
    landing = [LandingFile(f"transactions/2024-01-02/{name}", data) for name, data in files]
    return ingest_batch(landing, TRANSACTIONS, CardTokenizer(b"k"), NOW, DAY, elsewhere)


def test_rows_carry_lineage_and_partition():
    data = jsonl(transaction(1), transaction(2))
    batch = ingest(("a.jsonl", data))
    assert batch.rows.schema == bronze_schema(TRANSACTIONS)
    row = batch.rows.to_pylist()[1]
    assert row["_source_file"] == "transactions/2024-01-02/a.jsonl" and row["_line"] == 2
    assert row["_ingested_at"] == NOW and row["landing_date"] == DAY
    manifest = batch.manifest().to_pylist()
    assert manifest == [
        {
            "landing_date": DAY,
            "_source_file": "transactions/2024-01-02/a.jsonl",
            "sha256": hashlib.sha256(data).hexdigest(),
            "source_rows": 2,
            "_ingested_at": NOW,
        }
    ]


def test_quarantine_keeps_raw_text_with_card_numbers_redacted():
    batch = ingest(("a.jsonl", jsonl(transaction(1, amount="twelve"))))
    quarantined = batch.quarantine.to_pylist()
    assert [q["reason"] for q in quarantined] == ["wrong_type:amount"]
    assert '"twelve"' in quarantined[0]["raw_text"] and CARD not in quarantined[0]["raw_text"]
    assert quarantined[0]["stage"] == "bronze" and quarantined[0]["partition_date"] == DAY


def test_redelivered_file_adds_nothing_and_is_counted():
    data = csv_file(transaction(1), transaction(2))
    batch = ingest(("part-0.csv", data), ("part-1.csv", data))
    assert batch.rows.num_rows == 2 and batch.redelivered_rows == 2
    assert batch.redelivered_files == ["transactions/2024-01-02/part-1.csv"]
    assert batch.accounted_rows == batch.source_rows == 4


def test_file_already_ingested_under_another_partition_is_a_redelivery():
    data = jsonl(transaction(1))
    first = ingest(("a.jsonl", data))
    digest = first.manifest()["sha256"][0].as_py()
    again = ingest(("late.jsonl", data), elsewhere={digest: "transactions/2024-01-01/a.jsonl"})
    assert again.rows.num_rows == 0 and again.redelivered_rows == 1


def test_conservation_over_mixed_defects():
    batch = ingest(
        ("a.csv", csv_file(transaction(1), b"tx,short", transaction(3, amount="x"))),
        ("b.jsonl", jsonl(transaction(4), b"not json", transaction(5))),
        ("c.csv", csv_file()),
    )
    assert batch.source_rows == 6
    assert batch.accounted_rows == batch.source_rows
    assert batch.warnings["empty_files"] == 1


def test_schema_level_problem_rejects_the_whole_batch():
    columns = [c for c in transaction() if c != "amount"]
    with pytest.raises(BatchRejected, match="amount"):
        ingest(("a.jsonl", jsonl(transaction(1))), ("b.csv", csv_file(columns=columns)))
