"""The lake, materialized for 3 generated days, checked row by row against ground truth."""

import pandas as pd
import pyarrow.compute as pc
import pytest
from dagster import AssetCheckKey, AssetKey
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from platform_assets.ingest.tokenization import CardTokenizer
from tests.conftest import TEST_KEY


def table(lake, path: str) -> pd.DataFrame:
    return lake.lake.read(path).to_pandas()


def located(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(["_source_file", "_line"]).sort_index()


@pytest.fixture(scope="module")
def truth_rows(materialized_lake) -> pd.DataFrame:
    truth = materialized_lake.truth.transactions.rename(
        columns={"source_file": "_source_file", "line": "_line"}
    )
    return truth.set_index(["_source_file", "_line"]).sort_index()


def test_every_clean_row_is_in_silver_exactly_once_with_its_values(materialized_lake, truth_rows):
    silver = table(materialized_lake, "silver/transactions")
    assert not silver.duplicated(["_source_file", "_line"]).any()
    assert silver["transaction_id"].is_unique
    expected = truth_rows[truth_rows["expected_outcome"] == "silver"]
    actual = located(silver)
    assert set(actual.index) == set(expected.index)
    joined = actual.join(expected, rsuffix="_truth")
    tokenizer = CardTokenizer(TEST_KEY.encode())
    assert (joined["transaction_id"] == joined["transaction_id_truth"]).all()
    assert (joined["user_id"] == joined["user_id_truth"]).all()
    assert (joined["card_token"] == joined["card_number"].map(tokenizer.token)).all()
    assert (joined["amount"] - joined["amount_truth"]).abs().max() < 1e-9
    assert (joined["event_time"] == joined["event_time_utc"]).all()


def test_every_defective_row_is_quarantined_with_the_right_reason(materialized_lake, truth_rows):
    quarantine = pd.concat(
        [
            table(materialized_lake, "bronze/transactions_quarantine"),
            table(materialized_lake, "silver/transactions_quarantine"),
        ]
    )
    actual = located(quarantine)
    assert not actual.index.duplicated().any()
    expected = truth_rows[truth_rows["expected_outcome"] == "quarantine"]
    assert len(expected) > 0
    assert set(actual.index) == set(expected.index)
    for position, row in expected.iterrows():
        reasons = actual.loc[position, "reason"].split(";")
        assert row["expected_reason"] in reasons, (position, row["defect"], reasons)


def test_duplicates_are_dropped_and_counted(materialized_lake, truth_rows):
    duplicates = truth_rows[truth_rows["expected_outcome"] == "duplicate"]
    assert len(duplicates) > 0
    silver = located(table(materialized_lake, "silver/transactions"))
    assert not set(duplicates.index) & set(silver.index)
    bronze = located(table(materialized_lake, "bronze/transactions"))
    redelivered = duplicates[duplicates["expected_reason"] == "redelivered_file"]
    assert len(redelivered) > 0 and not set(redelivered.index) & set(bronze.index)


def test_reference_tables_hold_the_snapshots(materialized_lake):
    users = table(materialized_lake, "silver/users")
    merchants = table(materialized_lake, "silver/merchants")
    silver = table(materialized_lake, "silver/transactions")
    assert users["user_id"].is_unique and merchants["merchant_id"].is_unique
    assert set(silver["user_id"]) <= set(users["user_id"])
    assert set(silver["merchant_id"]) <= set(merchants["merchant_id"])


def test_chargebacks_match_the_labels_written(materialized_lake):
    silver = table(materialized_lake, "silver/chargebacks")
    expected = materialized_lake.truth.chargebacks
    assert sorted(silver["transaction_id"]) == sorted(expected["transaction_id"])


def test_checks_passed_for_every_partition(materialized_lake):
    instance = materialized_lake.instance
    for key in ("bronze/transactions", "silver/transactions"):
        for check in ("rows_accounted_for", "pandera_schema"):
            records = instance.event_log_storage.get_asset_check_execution_history(
                _check_key(key, check), limit=20
            )
            statuses = [record.status for record in records]
            assert len(statuses) >= len(materialized_lake.days)
            assert set(statuses) == {AssetCheckExecutionRecordStatus.SUCCEEDED}, (key, check)


def test_rerunning_a_partition_changes_nothing_else(materialized_lake):
    tables = [
        "bronze/transactions",
        "bronze/transactions_quarantine",
        "silver/transactions",
        "silver/transactions_quarantine",
    ]
    before = {name: _content(materialized_lake, name) for name in tables}
    versions = {name: materialized_lake.lake.version(name) for name in tables}
    assert materialized_lake.run_day(materialized_lake.days[1]).success
    for name in tables:
        assert materialized_lake.lake.version(name) == versions[name] + 1
        pd.testing.assert_frame_equal(_content(materialized_lake, name), before[name])


def _content(lake, name: str) -> pd.DataFrame:
    """Table content, ordered; `_ingested_at` is the run's time, so it is left out."""
    frame = lake.lake.read(name).drop_columns(["_ingested_at"]).to_pandas()
    return frame.sort_values(["_source_file", "_line"]).reset_index(drop=True)


def _check_key(asset: str, check: str) -> AssetCheckKey:
    return AssetCheckKey(AssetKey(asset.split("/")), check)


def test_silver_partition_column_equals_event_date(materialized_lake):
    silver = materialized_lake.lake.read("silver/transactions")
    event_dates = pc.cast(silver["event_time"], "date32")
    assert pc.all(pc.equal(event_dates, silver["event_date"])).as_py()
