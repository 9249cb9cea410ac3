"""Landing file -> typed rows / quarantined lines, for each kind of bad input."""

from datetime import UTC, datetime

import pytest

from platform_assets.ingest.parsing import BatchRejected, parse_file
from platform_assets.ingest.sources import TRANSACTIONS
from tests.records import CARD, csv_file, jsonl, transaction


def rejected_reasons(parsed) -> dict[int, str]:
    return {line.line: line.reason for line in parsed.rejected}


def test_clean_jsonl_is_typed_and_tokenized(tokenizer):
    parsed = parse_file("t.jsonl", jsonl(transaction(1), transaction(2)), TRANSACTIONS, tokenizer)
    assert parsed.rejected == [] and parsed.source_rows == 2
    row = parsed.rows.to_pylist()[0]
    assert row["event_time"] == datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
    assert row["card_token"] == tokenizer.token(CARD)
    assert "card_number" not in parsed.rows.schema.names
    assert parsed.rows["_line"].to_pylist() == [1, 2]


def test_clean_csv_matches_jsonl(tokenizer):
    records = [transaction(1), transaction(2, device_id=None)]
    from_csv = parse_file("t.csv", csv_file(*records), TRANSACTIONS, tokenizer)
    from_json = parse_file("t.jsonl", jsonl(*records), TRANSACTIONS, tokenizer)
    assert from_csv.rows.drop_columns(["_line"]).equals(from_json.rows.drop_columns(["_line"]))
    assert from_csv.rows["_line"].to_pylist() == [2, 3]  # line 1 is the header


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        (
            "ragged.csv",
            csv_file(transaction(1), b"tx-2,u1,4111111111111111,1.0,EUR", transaction(3)),
            {3: "ragged_row"},
        ),
        (
            "quote.csv",
            csv_file(
                transaction(1),
                b'tx-2,u1,"4111111111111111,1.0,EUR,m1,grocery,1,2,chip,d1,2024-01-02T10:00:00Z',
                transaction(3),
            ),
            {3: "unclosed_quote"},
        ),
        (
            "utf8.jsonl",
            jsonl(transaction(1), b'{"transaction_id": "tx-2", "user_id": "u\xff\xfe"}'),
            {2: "invalid_utf8"},
        ),
        (
            "utf8.csv",
            csv_file(transaction(1), b"tx-2,u\xff,4111111111111111,1,EUR,m,g,1,2,chip,d,x"),
            {3: "invalid_utf8"},
        ),
        (
            "type.jsonl",
            jsonl(transaction(1), transaction(2, amount="twelve"), transaction(3, user_id=7)),
            {2: "wrong_type:amount", 3: "wrong_type:user_id"},
        ),
        ("type.csv", csv_file(transaction(1, amount="twelve")), {2: "wrong_type:amount"}),
        (
            "time.jsonl",
            jsonl(transaction(1, event_time="yesterday"), transaction(2, event_time="2024-13-45")),
            {1: "wrong_type:event_time", 2: "wrong_type:event_time"},
        ),
        (
            "malformed.jsonl",
            jsonl(transaction(1), b'{"transaction_id": oops}', b"[1, 2]"),
            {2: "malformed_json", 3: "malformed_json"},
        ),
    ],
)
def test_bad_lines_are_rejected_with_their_reason(tokenizer, name, data, expected):
    parsed = parse_file(name, data, TRANSACTIONS, tokenizer)
    assert rejected_reasons(parsed) == expected
    assert parsed.rows.num_rows + len(parsed.rejected) == parsed.source_rows


def test_bad_line_in_the_middle_of_a_big_file_is_isolated(tokenizer):
    records = [transaction(i) for i in range(2_000)]
    records[1234] = b'{"broken": '
    parsed = parse_file("big.jsonl", jsonl(*records), TRANSACTIONS, tokenizer)
    assert rejected_reasons(parsed) == {1235: "malformed_json"}
    assert parsed.rows.num_rows == 1_999
    assert 1235 not in parsed.rows["_line"].to_pylist()


@pytest.mark.parametrize("name", ["cut.jsonl", "cut.csv"])
def test_truncated_last_line(tokenizer, name):
    whole = (jsonl if name.endswith("jsonl") else csv_file)(transaction(1), transaction(2))
    data = whole[: len(whole) - 60]  # cut inside the last record, no final newline
    parsed = parse_file(name, data, TRANSACTIONS, tokenizer)
    assert [line.reason for line in parsed.rejected] == ["truncated_record"]
    assert parsed.rows["transaction_id"].to_pylist() == ["tx-000001"]


def test_raw_text_of_a_rejected_line_is_kept(tokenizer):
    bad = transaction(2, amount="twelve")
    parsed = parse_file("t.jsonl", jsonl(transaction(1), bad), TRANSACTIONS, tokenizer)
    assert b'"twelve"' in parsed.rejected[0].raw


def test_naive_timestamp_is_read_as_utc_with_a_warning(tokenizer):
    data = jsonl(transaction(1, event_time="2024-01-02T10:00:00"))
    parsed = parse_file("t.jsonl", data, TRANSACTIONS, tokenizer)
    assert parsed.rows["event_time"][0].as_py() == datetime(2024, 1, 2, 10, tzinfo=UTC)
    assert parsed.warnings["naive_timestamps"] == 1


@pytest.mark.parametrize("encode", [jsonl, csv_file])
def test_epoch_seconds_and_milliseconds_are_accepted(tokenizer, encode):
    seconds, millis = 1704189600, 1704189600123
    data = encode(transaction(1, event_time=seconds), transaction(2, event_time=millis))
    parsed = parse_file("t.jsonl" if encode is jsonl else "t.csv", data, TRANSACTIONS, tokenizer)
    times = parsed.rows["event_time"].to_pylist()
    assert times[0] == datetime(2024, 1, 2, 10, tzinfo=UTC)
    assert times[1] == datetime(2024, 1, 2, 10, 0, 0, 123000, tzinfo=UTC)
    assert parsed.warnings["epoch_timestamps"] == 2


@pytest.mark.parametrize("encode", [jsonl, csv_file])
def test_added_column_is_named_and_rows_accepted(tokenizer, encode):
    columns = [*transaction(), "loyalty_tier"]
    record = transaction(1, loyalty_tier="gold")
    data = jsonl(record) if encode is jsonl else csv_file(record, columns=columns)
    parsed = parse_file("t.jsonl" if encode is jsonl else "t.csv", data, TRANSACTIONS, tokenizer)
    assert parsed.unexpected_columns == ("loyalty_tier",)
    assert parsed.rows.num_rows == 1 and parsed.warnings["unexpected_columns"] == 1


def test_removed_column_rejects_the_batch(tokenizer):
    columns = [c for c in transaction() if c != "merchant_category"]
    with pytest.raises(
        BatchRejected, match=r"missing required column\(s\) \['merchant_category'\]"
    ):
        parse_file("t.csv", csv_file(transaction(1), columns=columns), TRANSACTIONS, tokenizer)
    record = transaction(1)
    del record["merchant_category"]
    with pytest.raises(BatchRejected, match="merchant_category"):
        parse_file("t.jsonl", jsonl(record), TRANSACTIONS, tokenizer)


def test_renamed_column_rejects_the_batch_naming_both(tokenizer):
    columns = ["merchant" if c == "merchant_id" else c for c in transaction()]
    record = transaction(1)
    record["merchant"] = record.pop("merchant_id")
    with pytest.raises(BatchRejected, match=r"\['merchant_id'\].*\['merchant'\] \(renamed\?\)"):
        parse_file("t.csv", csv_file(record, columns=columns), TRANSACTIONS, tokenizer)


@pytest.mark.parametrize(("name", "data"), [("e.jsonl", b""), ("e.csv", csv_file())])
def test_empty_file_gives_no_rows_and_a_warning(tokenizer, name, data):
    parsed = parse_file(name, data, TRANSACTIONS, tokenizer)
    assert parsed.rows.num_rows == 0 and parsed.source_rows == 0
    assert parsed.warnings["empty_files"] == 1


def test_unknown_file_type_is_rejected(tokenizer):
    with pytest.raises(BatchRejected, match="unsupported file type"):
        parse_file("t.xlsx", b"x", TRANSACTIONS, tokenizer)
