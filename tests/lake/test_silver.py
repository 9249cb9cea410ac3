"""Bronze batch -> silver: deduplication, Pandera validation, quarantine, rejection."""

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from platform_assets.ingest.bronze import LandingFile, ingest_batch
from platform_assets.ingest.parsing import BatchRejected
from platform_assets.ingest.sources import TRANSACTIONS
from platform_assets.lake.silver import refine
from tests.records import jsonl, transaction

DAY = date(2024, 1, 2)
INGESTED = datetime(2024, 1, 5, tzinfo=UTC)


def bronze(tokenizer, *records, name="a.jsonl"):
    files = [LandingFile(f"transactions/2024-01-02/{name}", jsonl(*records))]
    return ingest_batch(files, TRANSACTIONS, tokenizer, INGESTED, DAY).rows


def quarantine_reasons(batch) -> dict[int, str]:
    return dict(
        zip(
            batch.quarantine["_line"].to_pylist(),
            batch.quarantine["reason"].to_pylist(),
            strict=True,
        )
    )


def test_clean_rows_pass_with_event_date(tokenizer):
    batch = refine(bronze(tokenizer, transaction(1), transaction(2)), TRANSACTIONS, DAY)
    assert batch.rows.num_rows == 2 and batch.quarantine.num_rows == 0
    assert set(batch.rows["event_date"].to_pylist()) == {DAY}
    assert "landing_date" not in batch.rows.schema.names


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount": float("nan")}, "amount:finite"),
        ({"amount": float("inf")}, "amount:finite"),
        ({"amount": 0.0}, "amount:positive"),
        ({"amount": -3.0}, "amount:positive"),
        ({"transaction_id": None}, "transaction_id:not_nullable"),
        ({"user_id": None}, "user_id:not_nullable"),
        ({"card_number": None}, "card_token:not_nullable"),
        ({"merchant_id": None}, "merchant_id:not_nullable"),
        ({"event_time": "2024-02-01T00:00:00Z"}, "event_time:not_in_future"),
        ({"event_time": "2024-01-01T23:59:59Z"}, "event_time:in_partition"),
        ({"currency": "XXX"}, "currency:known_value"),
        ({"payment_method": "cheque"}, "payment_method:known_value"),
        ({"location_lat": 123.0}, "location_lat:in_range"),
    ],
)
def test_row_level_failures_are_quarantined_with_the_failed_check(tokenizer, change, reason):
    rows = bronze(tokenizer, transaction(1), transaction(2, **change), transaction(3))
    batch = refine(rows, TRANSACTIONS, DAY)
    assert reason in quarantine_reasons(batch)[2].split(";")
    assert batch.rows["_line"].to_pylist() == [1, 3]
    assert batch.accounted_rows == batch.bronze_rows


def test_exact_duplicates_are_counted_and_conflicts_quarantined(tokenizer):
    rows = bronze(
        tokenizer,
        transaction(1),
        transaction(2, amount=10.0),
        transaction(1),  # same values as line 1
        transaction(2, amount=99.0),  # same id as line 2, other values: the later one wins
    )
    batch = refine(rows, TRANSACTIONS, DAY)
    assert batch.exact_duplicates == 1
    assert quarantine_reasons(batch) == {2: "transaction_id:duplicate_conflict"}
    assert sorted(batch.rows["_line"].to_pylist()) == [3, 4]
    assert batch.rows.filter(pa.compute.equal(batch.rows["_line"], 4))["amount"][0].as_py() == 99.0
    assert batch.accounted_rows == batch.bronze_rows == 4


def test_quarantined_silver_row_holds_values_but_no_card_number(tokenizer):
    batch = refine(bronze(tokenizer, transaction(1, amount=-1.0)), TRANSACTIONS, DAY)
    raw = batch.quarantine["raw_text"][0].as_py()
    assert '"amount": -1.0' in raw and "4111111111111111" not in raw and "tok_" in raw


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda t: t.drop_columns(["merchant_category"]),
        lambda t: t.set_column(3, "amount", t["amount"].cast(pa.string())),
        lambda t: t.rename_columns(
            ["merchant" if n == "merchant_id" else n for n in t.schema.names]
        ),
    ],
    ids=["removed", "retyped", "renamed"],
)
def test_schema_level_failure_rejects_the_batch(tokenizer, corrupt):
    rows = corrupt(bronze(tokenizer, transaction(1)))
    with pytest.raises(BatchRejected, match="Nothing was written"):
        refine(rows, TRANSACTIONS, DAY)
