"""Injected bad input: every case of the contract's table is present, and each line really
is what its truth row says (checked by parsing the raw line independently)."""

import csv
import math
from datetime import date

import pytest

from fraud_generator import GeneratorConfig, generate

from .landing_reader import csv_header, parse_event_time, parse_record, physical_lines

CONTRACT_REASONS = {
    "ragged_row", "unclosed_quote", "invalid_utf8", "malformed_json", "truncated_record",
    "wrong_type:amount", "wrong_type:event_time", "amount:finite", "amount:positive",
    "transaction_id:not_nullable", "user_id:not_nullable", "card_token:not_nullable",
    "merchant_id:not_nullable", "event_time:not_in_future", "event_time:in_partition",
    "transaction_id:duplicate_conflict",
}  # fmt: skip
CONTRACT_WARNINGS = {"naive_timestamps", "epoch_timestamps", "unexpected_columns"}


def raw_line(truth, row) -> tuple[bytes, list[str] | None, bool]:
    """(line bytes, CSV header or None, is the file's last line without newline)."""
    path = truth.landing_dir / row.source_file
    lines = physical_lines(path)
    header = csv_header(path) if path.suffix == ".csv" else None
    unterminated = row.line == len(lines) and not path.read_bytes().endswith(b"\n")
    return lines[row.line - 1], header, unterminated


def fails_to_parse(line, header) -> bool:
    try:
        parse_record(line, header)
    except (ValueError, csv.Error):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return True
    return False


def check_quarantined_line(reason, line, header, unterminated, partition_date):
    if reason == "truncated_record":
        assert unterminated and fails_to_parse(line, header)
        return
    assert not unterminated
    if reason == "invalid_utf8":
        with pytest.raises(UnicodeDecodeError):
            line.decode("utf-8")
        return
    if reason in ("ragged_row", "unclosed_quote", "malformed_json"):
        assert fails_to_parse(line, header)
        assert header is None if reason == "malformed_json" else header is not None
        return
    record = parse_record(line, header)
    if reason == "wrong_type:amount":
        with pytest.raises(ValueError):
            float(record["amount"])
    elif reason == "wrong_type:event_time":
        with pytest.raises(ValueError):
            parse_event_time(record["event_time"])
    elif reason == "amount:finite":
        assert header is not None and not math.isfinite(float(record["amount"]))
    elif reason == "amount:positive":
        assert float(record["amount"]) <= 0
    elif reason.endswith(":not_nullable"):
        checked = reason.split(":")[0]
        assert record["card_number" if checked == "card_token" else checked] is None
    elif reason == "event_time:not_in_future":  # beyond any real ingestion time
        assert parse_event_time(record["event_time"]).year >= partition_date.year + 100
    elif reason == "event_time:in_partition":
        assert (partition_date - parse_event_time(record["event_time"]).date()).days == 1
    elif reason != "transaction_id:duplicate_conflict":
        raise AssertionError(f"unexpected reason {reason}")


def test_every_contract_case_is_injected_every_day(defective):
    truth = defective.transactions
    for day, rows in truth.groupby("partition_date"):
        assert set(rows.expected_reason.dropna()) == CONTRACT_REASONS | {"redelivered_file"}, day
        assert set(rows.warning.dropna()) == CONTRACT_WARNINGS, day
        assert (rows.defect == "exact_duplicate").any()
        naive = rows[rows.defect == "naive_timestamp"]
        assert {path.rsplit(".", 1)[1] for path in naive.source_file} <= {"jsonl", "csv"}
    for summary in defective.summary["per_day"].values():
        defects = summary["defects"]
        assert all(1 <= defects[kind] <= 3 for kind in defects if kind != "empty_file")
        assert defects["added_column"] == 1 and defects["redelivered_file"] == 1
        assert defects["truncated_record"] == 1


def test_every_line_is_what_its_truth_says(defective):
    truth = defective.transactions
    for row in truth[truth.defect != "redelivered_file"].itertuples():
        line, header, unterminated = raw_line(defective, row)
        if row.expected_outcome == "quarantine":
            check_quarantined_line(
                row.expected_reason, line, header, unterminated, row.partition_date
            )
            continue
        record = parse_record(line, header)
        assert record["transaction_id"] == row.transaction_id
        if row.expected_outcome == "silver":
            assert parse_event_time(record["event_time"]) == row.event_time_utc
            assert float(record["amount"]) == row.amount
        event_time = str(record["event_time"])
        if row.warning == "naive_timestamps":
            assert parse_event_time(event_time).isoformat()[:23] == event_time
        elif row.warning == "epoch_timestamps":
            assert event_time.isdigit()
        elif row.defect is None:
            assert event_time.endswith("Z") or event_time[-6] in "+-"


def test_duplicates_and_conflicts(defective):
    truth = defective.transactions
    for row in truth[truth.defect.isin(["exact_duplicate", "conflicting_duplicate"])].itertuples():
        same_id = truth[
            (truth.source_file == row.source_file) & (truth.transaction_id == row.transaction_id)
        ]
        assert len(same_id) == 2
        kept = same_id[same_id.line != row.line].iloc[0]
        assert kept.expected_outcome == "silver" and kept.defect is None
        line, header, _ = raw_line(defective, row)
        kept_line, _, _ = raw_line(defective, kept)
        assert row.line < kept.line  # the later delivery is kept
        if row.defect == "exact_duplicate":
            assert row.expected_outcome == "duplicate"
            assert line == kept_line
        else:
            assert row.expected_outcome == "quarantine"
            assert parse_record(line, header)["amount"] != parse_record(kept_line, header)["amount"]


def test_file_level_defects(defective):
    landing = defective.landing_dir
    truth = defective.transactions
    for redelivery in defective.summary["redelivered_files"]:
        copy, original = redelivery["path"], redelivery["original"]
        assert (landing / copy).read_bytes() == (landing / original).read_bytes()
        assert original < copy  # the original is the first delivery in name order
        rows = truth[truth.source_file == copy]
        assert len(rows) == (truth.source_file == original).sum()
        assert set(rows.expected_outcome) == {"duplicate"}
        assert set(rows.expected_reason) == {"redelivered_file"}
    for path in defective.summary["empty_files"]:
        content = (landing / path).read_bytes()
        assert content == b"" if path.endswith(".jsonl") else content.count(b"\n") == 1
        assert not (truth.source_file == path).any()
    added = truth[truth.warning == "unexpected_columns"].source_file.unique()
    assert len(added) == 2  # one file per day
    for path in added:
        if path.endswith(".csv"):
            assert csv_header(landing / path)[-1] == "loyalty_tier"
        else:
            assert b'"loyalty_tier":' in physical_lines(landing / path)[0]


def test_source_rows_add_up(defective):
    truth = defective.transactions
    extra = truth.defect.isin(["exact_duplicate", "conflicting_duplicate", "redelivered_file"])
    assert (truth[~extra].groupby("partition_date").size() == 1500).all()
    for day, summary in defective.summary["per_day"].items():
        rows = truth[truth.partition_date.astype(str) == day]
        assert summary["source_lines"] == len(rows)
        assert summary["expected_outcomes"] == rows.expected_outcome.value_counts().to_dict()


def test_chargebacks_only_for_silver_transactions(defective):
    silver = defective.transactions.query("expected_outcome == 'silver'").transaction_id
    assert defective.chargebacks.transaction_id.isin(silver).all()


@pytest.mark.parametrize(
    ("schema_defect", "missing", "added"),
    [
        ("removed_column", ["merchant_category"], []),
        ("renamed_column", ["merchant_id"], ["merchant"]),
    ],
)
def test_schema_defect_rejects_the_last_days_batch(tmp_path, schema_defect, missing, added):
    truth = generate(
        GeneratorConfig(
            tmp_path, date(2024, 1, 1), days=2, rows_per_day=300, schema_defect=schema_defect
        )
    )
    (rejected,) = truth.summary["rejected_files"]
    assert rejected["path"].startswith("transactions/2024-01-02/")
    assert rejected["expected_outcome"] == "rejects_batch"
    assert (rejected["missing_columns"], rejected["added_columns"]) == (missing, added)
    path = tmp_path / rejected["path"]
    first_record = parse_record(physical_lines(path)[0 if path.suffix == ".jsonl" else 1],
                                csv_header(path) if path.suffix == ".csv" else None)  # fmt: skip
    assert sorted(set(first_record) ^ set(rejected["columns"])) == []
    assert not set(missing) & set(first_record) and set(added) <= set(first_record)
    rows = truth.transactions
    last_day = rows.partition_date == date(2024, 1, 2)
    assert set(rows[last_day].expected_outcome) == {"rejected"}  # the whole batch
    assert set(rows[rows.source_file == rejected["path"]].defect) == {schema_defect}
    assert set(rows[~last_day].expected_outcome) == {"silver"}
