"""Labels as known at a cutoff: each status on hand-made payments and chargebacks."""

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from platform_assets.pandera_checks import schema_problems
from platform_assets.training.labels import (
    FRAUD,
    IMMATURE,
    LABELS_PANDERA_SCHEMA,
    LEGIT,
    REPORTED_AFTER_CUTOFF,
    LabelWindow,
    label_transactions,
    labels_known_at_cutoff_violations,
)

CUTOFF = datetime(2024, 2, 1, 12, 0, tzinfo=UTC)
WINDOW = LabelWindow(date(2024, 1, 1), date(2024, 1, 3), CUTOFF, maturity_days=20)
UTC_TIME = pa.timestamp("us", tz="UTC")


def payments(rows: dict[str, datetime]) -> pa.Table:
    return pa.table(
        {
            "transaction_id": list(rows),
            "user_id": ["u1"] * len(rows),
            "merchant_id": ["m1"] * len(rows),
            "amount": [10.0] * len(rows),
            "event_time": pa.array(list(rows.values()), UTC_TIME),
        }
    )


def reports(rows: dict[str, tuple[datetime, str]]) -> pa.Table:
    return pa.table(
        {
            "transaction_id": list(rows),
            "reported_at": pa.array([at for at, _ in rows.values()], UTC_TIME),
            "reason": [reason for _, reason in rows.values()],
        }
    )


def statuses(transactions, chargebacks, window=WINDOW) -> dict[str, tuple[str, int | None]]:
    labels = label_transactions(transactions, chargebacks, window)
    assert schema_problems(LABELS_PANDERA_SCHEMA, labels) == []
    assert not any(labels_known_at_cutoff_violations(labels, window).values())
    return {
        row["transaction_id"]: (row["label_status"], row["label"]) for row in labels.to_pylist()
    }


def test_each_status():
    day = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
    result = statuses(
        payments({"fraud": day, "late": day, "dispute": day, "quiet": day}),
        reports(
            {
                "fraud": (CUTOFF, "fraud_stolen_card"),  # reported exactly at the cutoff: known
                "late": (CUTOFF + timedelta(microseconds=1), "fraud_card_not_present"),
                "dispute": (day + timedelta(days=3), "customer_dispute"),
            }
        ),
    )
    assert result == {
        "dispute": (LEGIT, 0),
        "fraud": (FRAUD, 1),
        "late": (REPORTED_AFTER_CUTOFF, None),
        "quiet": (LEGIT, 0),
    }


def test_maturity_edge_and_young_frauds():
    edge = CUTOFF - timedelta(days=20)  # matures exactly at the cutoff
    young = edge + timedelta(microseconds=1)
    result = statuses(
        payments({"edge": edge, "young": young, "young_fraud": young}),
        reports({"young_fraud": (young + timedelta(days=1), "fraud_stolen_card")}),
        LabelWindow(date(2024, 1, 1), date(2024, 1, 31), CUTOFF, maturity_days=20),
    )
    assert result == {
        "edge": (LEGIT, 0),
        "young": (IMMATURE, None),
        # a fraud already reported on a young day stays unknown with its day
        "young_fraud": (IMMATURE, None),
    }


def test_only_the_window_days():
    result = statuses(
        payments(
            {
                "before": datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                "first": datetime(2024, 1, 1, tzinfo=UTC),
                "last": datetime(2024, 1, 3, 23, 59, 59, 999999, tzinfo=UTC),
                "after": datetime(2024, 1, 4, tzinfo=UTC),
            }
        ),
        reports({}),
    )
    assert sorted(result) == ["first", "last"]


def test_cutoff_needs_a_time_zone_and_is_kept_in_utc():
    with pytest.raises(ValueError, match="time zone"):
        LabelWindow(date(2024, 1, 1), date(2024, 1, 2), datetime(2024, 2, 1), 0)
    window = LabelWindow.from_json(
        {
            "first_day": "2024-01-01",
            "last_day": "2024-01-02",
            "label_cutoff": "2024-02-01T14:00:00+02:00",
            "maturity_days": 0,
        }
    )
    assert window.cutoff == CUTOFF
    assert LabelWindow.from_json(window.to_json()) == window


def test_violations_are_counted():
    day = datetime(2024, 1, 2, tzinfo=UTC)
    labels = label_transactions(
        payments({"a": day}), reports({"a": (CUTOFF + timedelta(days=1), "fraud_x")}), WINDOW
    )
    forged = labels.set_column(
        labels.schema.get_field_index("label_status"), "label_status", pa.array([FRAUD])
    )
    assert labels_known_at_cutoff_violations(forged, WINDOW)["fraud_reported_after_cutoff"] == 1
