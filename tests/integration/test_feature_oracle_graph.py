"""The feature tables the real Dagster graph wrote agree with the brute-force oracle
(tests/features/oracle.py) fed from the generator's ground truth."""

import pytest

from tests.features.data import assert_no_problems, compare, truth_events
from tests.features.oracle import MERCHANT_COLUMNS, USER_COLUMNS, Oracle
from tests.features.test_feature_oracle import MIN_PAIRS


@pytest.mark.integration
def test_feature_tables_written_by_the_graph_match_the_oracle(materialized_lake):
    lake = materialized_lake
    txns, labels = truth_events(lake.truth)
    oracle = Oracle(txns, labels)
    ingested = dict(
        zip(
            *lake.lake.read("silver/transactions", columns=["transaction_id", "_ingested_at"])
            .to_pydict()
            .values(),
            strict=True,
        )
    )
    # The oracle's inputs are the truth's; check they are what reached silver.
    assert set(ingested) == set(oracle.transactions)
    silver_labels = lake.lake.read("silver/chargebacks", columns=["transaction_id"])
    assert set(silver_labels["transaction_id"].to_pylist()) == set(oracle.chargebacks)

    compared = {}
    for name, columns, row_of in (
        ("user_features", USER_COLUMNS, oracle.user_row),
        ("merchant_features", MERCHANT_COLUMNS, oracle.merchant_row),
    ):
        table = lake.lake.read(f"features/{name}")
        assert table is not None, f"features/{name} was not written"
        expected = {}
        for tid in oracle.transactions:
            row = row_of(tid)
            row["created_timestamp"] = ingested[tid]
            expected[tid] = row
        assert_no_problems(compare(table, expected, columns), f"lake features/{name}")
        compared[name] = list(expected.values())

    for rows in compared.values():
        assert len(rows) >= MIN_PAIRS
    merchants = compared["merchant_features"]
    assert sum(r["merchant_chargebacks_known_30d"] > 0 for r in merchants) >= 10
    users = compared["user_features"]
    assert sum(r["user_seconds_since_prev_txn"] is None for r in users) > 0
    assert sum(r["user_txn_count_1h"] >= 3 for r in users) > 0
