"""Layout, counts and values of clean landing files, checked against the ground truth with
independent parsers."""

import re

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pytest

from .landing_reader import (
    csv_header,
    luhn_valid,
    parse_event_time,
    parse_record,
    physical_lines,
)

CONTRACT_COLUMNS = [
    "transaction_id", "user_id", "card_number", "amount", "currency", "merchant_id",
    "merchant_category", "location_lat", "location_lon", "payment_method", "device_id",
    "event_time",
]  # fmt: skip
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
PAN_LIKE = re.compile(rb"(?<!\d)\d{15,19}(?!\d)")


def transaction_files(truth):
    return sorted((truth.landing_dir / "transactions").glob("*/*"))


def test_layout_matches_the_contract(clean):
    landing = clean.landing_dir
    days = [f"2024-03-{d}" for d in (29, 30, 31)] + ["2024-04-01"]
    assert sorted(p.name for p in (landing / "transactions").iterdir()) == days
    names = {p.name for p in (landing / "transactions" / days[0]).iterdir()}
    assert names == {"part-0.jsonl", "part-1.csv", "part-2.jsonl"}
    assert (landing / "reference/users/users.csv").exists()
    assert (landing / "reference/merchants/merchants.csv").exists()
    assert all(p.name == "chargebacks.jsonl" for p in (landing / "chargebacks").glob("*/*"))
    for name in ("transactions.parquet", "chargebacks.parquet", "summary.json"):
        assert (landing / "_ground_truth" / name).exists()


def test_every_physical_line_has_one_truth_row(clean):
    truth = clean.transactions
    for path in transaction_files(clean):
        relative = path.relative_to(clean.landing_dir).as_posix()
        lines = truth[truth.source_file == relative]["line"].tolist()
        data_lines = len(physical_lines(path)) - (path.suffix == ".csv")
        first = 2 if path.suffix == ".csv" else 1
        assert lines == list(range(first, first + data_lines)), relative


def test_rows_per_day_and_unique_ids(clean):
    truth = clean.transactions
    counts = truth.groupby("partition_date").transaction_id.agg(["size", "nunique"])
    assert (counts["size"] == 2000).all()
    assert (counts["nunique"] == 2000).all()
    assert {day["rows"] for day in clean.summary["per_day"].values()} == {2000}
    assert (truth.expected_outcome == "silver").all()


def test_clean_files_parse_with_pyarrow(clean):
    string_columns = {name: pa.string() for name in ("card_number", "device_id", "event_time")}
    for path in transaction_files(clean):
        if path.suffix == ".csv":
            table = pa_csv.read_csv(
                path, convert_options=pa_csv.ConvertOptions(column_types=string_columns)
            )
        else:
            table = pa_json.read_json(path)
        assert table.column_names == CONTRACT_COLUMNS
        expected = clean.transactions.source_file.eq(
            path.relative_to(clean.landing_dir).as_posix()
        ).sum()
        assert table.num_rows == expected
    users = pa_csv.read_csv(clean.landing_dir / "reference/users/users.csv")
    assert users.column_names == [
        "user_id", "home_lat", "home_lon", "home_country", "signup_date", "risk_segment",
    ]  # fmt: skip
    merchants = pa_csv.read_csv(clean.landing_dir / "reference/merchants/merchants.csv")
    assert merchants.column_names == [
        "merchant_id", "merchant_name", "merchant_category", "merchant_lat", "merchant_lon",
        "merchant_country",
    ]  # fmt: skip
    for path in (clean.landing_dir / "chargebacks").glob("*/*.jsonl"):
        assert pa_json.read_json(path).column_names == ["transaction_id", "reported_at", "reason"]


def test_file_values_equal_truth_values(clean):
    truth = clean.transactions.set_index(["source_file", "line"])
    for path in transaction_files(clean):
        relative = path.relative_to(clean.landing_dir).as_posix()
        header = csv_header(path) if path.suffix == ".csv" else None
        lines = physical_lines(path)[1:] if header else physical_lines(path)
        first = 2 if header else 1
        for number, line in enumerate(lines, start=first):
            record = parse_record(line, header)
            expected = truth.loc[(relative, number)]
            assert ISO_WITH_OFFSET.match(record["event_time"]), record["event_time"]
            assert parse_event_time(record["event_time"]) == expected.event_time_utc
            assert float(record["amount"]) == expected.amount
            assert float(record["location_lat"]) == expected.location_lat
            for column in ("transaction_id", "user_id", "card_number", "merchant_id",
                           "merchant_category", "currency", "payment_method"):  # fmt: skip
                assert record[column] == expected[column], column
            assert record["device_id"] == expected.device_id


def test_event_utc_date_is_the_folder_date(clean):
    truth = clean.transactions
    folder_date = truth.source_file.str.split("/").str[1]
    assert (truth.event_time_utc.dt.strftime("%Y-%m-%d") == folder_date).all()
    assert (truth.partition_date.astype(str) == folder_date).all()


def test_card_numbers_are_luhn_valid_and_only_in_their_field(clean):
    truth = clean.transactions
    assert truth.card_number.str.fullmatch(r"[45]\d{15}").all()
    assert all(luhn_valid(pan) for pan in truth.card_number.unique())
    for path in transaction_files(clean):
        for line in physical_lines(path):
            assert len(PAN_LIKE.findall(line)) <= 1
    assert not PAN_LIKE.search((clean.landing_dir / "reference/users/users.csv").read_bytes())


def test_fraud_share_and_patterns(clean):
    truth = clean.transactions
    assert truth.is_fraud.mean() == pytest.approx(0.01, abs=0.001)
    assert set(truth.fraud_pattern.dropna()) == {
        "card_testing", "account_takeover", "high_amount_new_category",
    }  # fmt: skip
    assert truth.fraud_pattern.isna().eq(~truth.is_fraud).all()
    testing = truth[truth.fraud_pattern == "card_testing"]
    assert testing.amount.between(0.5, 5).all()
    assert (testing.payment_method == "online").all()
    assert (testing.merchant_category == "digital_goods").all()
    bursts = testing.groupby("card_number").event_time_utc.agg(["size", "min", "max"])
    assert ((bursts["max"] - bursts["min"]).dt.total_seconds() <= 15 * 60).all()


def test_account_takeover_follows_a_far_away_payment_within_the_hour(clean):
    truth = clean.transactions.sort_values("event_time_utc")
    for _, fraud in truth[truth.fraud_pattern == "account_takeover"].iterrows():
        same_card = truth[(truth.card_number == fraud.card_number) & ~truth.is_fraud]
        previous = same_card[same_card.event_time_utc < fraud.event_time_utc].iloc[-1]
        assert (fraud.event_time_utc - previous.event_time_utc).total_seconds() < 3600
        assert abs(fraud.location_lon - previous.location_lon) > 40  # another continent
        assert fraud.device_id != previous.device_id


def test_currency_and_offsets_follow_the_region(clean):
    truth = clean.transactions[~clean.transactions.is_fraud]
    european = truth.location_lon > -30
    assert set(truth[european].currency) == {"EUR", "GBP"}
    assert set(truth[~european].currency) == {"USD"}
    offsets_by_day = {}
    for path in transaction_files(clean):
        if path.suffix == ".jsonl":
            times = [parse_record(line, None)["event_time"] for line in physical_lines(path)]
            offsets = {"Z" if t.endswith("Z") else t[-6:] for t in times}
            offsets_by_day.setdefault(path.parent.name, set()).update(offsets)
    # London is on Z before the 2024-03-31 daylight-saving switch and on +01:00 after it.
    assert {"Z", "+01:00", "-05:00"} <= offsets_by_day["2024-03-30"]
    assert {"+01:00", "+02:00", "-04:00"} <= offsets_by_day["2024-04-01"]
    assert "Z" not in offsets_by_day["2024-04-01"]
