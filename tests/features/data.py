"""Data builders for the feature oracle tests: silver-shaped Arrow tables from oracle events,
oracle events from the generator's ground truth, and a row-by-row comparison."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

import pyarrow as pa

from fraud_generator import GroundTruth
from tests.features.oracle import Chargeback, Txn

USER_HISTORY_DAYS = 7
MERCHANT_HISTORY_DAYS = 30
REL_TOL = 1e-9
ABS_TOL = 1e-9

TIME = pa.timestamp("us", tz="UTC")
SILVER_TRANSACTIONS = pa.schema(
    [
        ("_source_file", pa.string()),
        ("_line", pa.int64()),
        ("_ingested_at", TIME),
        ("transaction_id", pa.string()),
        ("user_id", pa.string()),
        ("card_token", pa.string()),
        ("amount", pa.float64()),
        ("currency", pa.string()),
        ("merchant_id", pa.string()),
        ("merchant_category", pa.string()),
        ("location_lat", pa.float64()),
        ("location_lon", pa.float64()),
        ("payment_method", pa.string()),
        ("device_id", pa.string()),
        ("event_time", TIME),
        ("event_date", pa.date32()),
    ]
)
SILVER_CHARGEBACKS = pa.schema(
    [
        ("_source_file", pa.string()),
        ("_line", pa.int64()),
        ("_ingested_at", TIME),
        ("transaction_id", pa.string()),
        ("reported_at", TIME),
        ("reason", pa.string()),
        ("reported_date", pa.date32()),
    ]
)
# The types docs/features.md gives each column.
USER_TYPES = {
    "transaction_id": pa.string(),
    "user_id": pa.string(),
    "event_timestamp": TIME,
    "created_timestamp": TIME,
    "event_date": pa.date32(),
    "user_txn_count_1h": pa.int64(),
    "user_txn_count_24h": pa.int64(),
    "user_txn_count_7d": pa.int64(),
    "user_amount_sum_24h": pa.float64(),
    "user_amount_mean_7d": pa.float64(),
    "user_distinct_merchants_24h": pa.int64(),
    "user_seconds_since_prev_txn": pa.float64(),
    "user_km_from_prev_txn": pa.float64(),
    "user_velocity_kmh": pa.float64(),
    "inputs_as_of": TIME,
}
MERCHANT_TYPES = {
    "transaction_id": pa.string(),
    "merchant_id": pa.string(),
    "event_timestamp": TIME,
    "created_timestamp": TIME,
    "event_date": pa.date32(),
    "merchant_txn_count_24h": pa.int64(),
    "merchant_txn_count_30d": pa.int64(),
    "merchant_chargebacks_known_30d": pa.int64(),
    "merchant_fraud_rate_30d": pa.float64(),
    "inputs_as_of": TIME,
}


def at(day: date, hours: int = 0, minutes: int = 0, seconds: int = 0, us: int = 0) -> datetime:
    """A UTC instant on `day`."""
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    return midnight + timedelta(hours=hours, minutes=minutes, seconds=seconds, microseconds=us)


def txn(
    transaction_id: str,
    event_time: datetime,
    user_id: str = "u-1",
    merchant_id: str = "m-1",
    amount: float = 10.0,
    lat: float = 48.8566,
    lon: float = 2.3522,
) -> Txn:
    """A crafted transaction; it reached the lake 5 minutes after its event."""
    return Txn(
        transaction_id=transaction_id,
        user_id=user_id,
        merchant_id=merchant_id,
        amount=amount,
        lat=lat,
        lon=lon,
        event_time=event_time,
        ingested_at=event_time + timedelta(minutes=5),
    )


def silver_transactions(txns: Iterable[Txn], shuffle_seed: int | None = 0) -> pa.Table:
    """Silver-shaped transactions (every column of the silver table), in shuffled order so
    the code under test cannot lean on the input order."""
    rows = list(txns)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(rows)
    columns = {name: [] for name in SILVER_TRANSACTIONS.names}
    for line, row in enumerate(rows, start=1):
        columns["_source_file"].append(f"transactions/{row.event_date}/part-0.jsonl")
        columns["_line"].append(line)
        columns["_ingested_at"].append(row.ingested_at)
        columns["transaction_id"].append(row.transaction_id)
        columns["user_id"].append(row.user_id)
        columns["card_token"].append(
            "tok_" + hashlib.blake2b(row.user_id.encode()).hexdigest()[:24]
        )
        columns["amount"].append(row.amount)
        columns["currency"].append("EUR")
        columns["merchant_id"].append(row.merchant_id)
        columns["merchant_category"].append("grocery")
        columns["location_lat"].append(row.lat)
        columns["location_lon"].append(row.lon)
        columns["payment_method"].append("chip")
        columns["device_id"].append(None)
        columns["event_time"].append(row.event_time)
        columns["event_date"].append(row.event_date)
    return pa.table(columns, schema=SILVER_TRANSACTIONS)


def silver_chargebacks(labels: Iterable[Chargeback], shuffle_seed: int | None = 0) -> pa.Table:
    rows = list(labels)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(rows)
    columns = {name: [] for name in SILVER_CHARGEBACKS.names}
    for line, row in enumerate(rows, start=1):
        columns["_source_file"].append(f"chargebacks/{row.reported_at.date()}/chargebacks.jsonl")
        columns["_line"].append(line)
        columns["_ingested_at"].append(row.reported_at + timedelta(minutes=1))
        columns["transaction_id"].append(row.transaction_id)
        columns["reported_at"].append(row.reported_at)
        columns["reason"].append("fraud_card_not_present")
        columns["reported_date"].append(row.reported_at.date())
    return pa.table(columns, schema=SILVER_CHARGEBACKS)


def history(txns: Iterable[Txn], day: date, days_before: int) -> list[Txn]:
    """What a feature partition reads: transactions of `day` and the `days_before` before."""
    first = day - timedelta(days=days_before)
    return [row for row in txns if first <= row.event_date <= day]


def chargebacks_read(labels: Iterable[Chargeback], day: date) -> list[Chargeback]:
    """Chargebacks of `day` and the 30 days before, by reported date."""
    first = day - timedelta(days=MERCHANT_HISTORY_DAYS)
    return [label for label in labels if first <= label.reported_at.date() <= day]


def _py_datetime(value) -> datetime:
    value = value.to_pydatetime()
    assert value.tzinfo is not None
    return value.astimezone(UTC)


def truth_events(truth: GroundTruth) -> tuple[list[Txn], list[Chargeback]]:
    """The rows the truth expects in silver, with their clean values, and their chargebacks.
    `ingested_at` is made up (the day after the event, a distinct microsecond per row)."""
    frame = truth.transactions
    frame = frame[frame["expected_outcome"] == "silver"]
    txns = []
    for n, row in enumerate(frame.itertuples(index=False)):
        event_time = _py_datetime(row.event_time_utc)
        txns.append(
            Txn(
                transaction_id=row.transaction_id,
                user_id=row.user_id,
                merchant_id=row.merchant_id,
                amount=float(row.amount),
                lat=float(row.location_lat),
                lon=float(row.location_lon),
                event_time=event_time,
                ingested_at=at(event_time.date() + timedelta(days=1), hours=1, us=n),
            )
        )
    silver_ids = {row.transaction_id for row in txns}
    labels = [
        Chargeback(row.transaction_id, _py_datetime(row.reported_at))
        for row in truth.chargebacks.itertuples(index=False)
        if row.transaction_id in silver_ids
    ]
    return txns, labels


def _same(expected, actual) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float):
        if not isinstance(actual, float) or math.isnan(actual):
            return False
        return math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return False
    return type(expected) is type(actual) and expected == actual


def compare(actual: pa.Table, expected: dict[str, dict], columns: Iterable[str]) -> list[str]:
    """Mismatches between the rows of `actual` and the oracle's rows (by transaction_id):
    ints, timestamps, dates and strings exactly, floats to REL_TOL, nulls exactly."""
    problems = []
    rows = {row["transaction_id"]: row for row in actual.to_pylist()}
    if len(rows) != actual.num_rows:
        problems.append(f"duplicate transaction_id rows: {actual.num_rows - len(rows)}")
    missing = sorted(set(expected) - set(rows))
    extra = sorted(set(rows) - set(expected))
    if missing:
        problems.append(f"{len(missing)} rows missing, e.g. {missing[:5]}")
    if extra:
        problems.append(f"{len(extra)} unexpected rows, e.g. {extra[:5]}")
    for transaction_id in sorted(set(rows) & set(expected)):
        for column in columns:
            want = expected[transaction_id][column]
            got = rows[transaction_id].get(column)
            if not _same(want, got):
                problems.append(f"{transaction_id} {column}: oracle={want!r} table={got!r}")
    return problems


def schema_problems(actual: pa.Table, types: dict[str, pa.DataType]) -> list[str]:
    problems = []
    if set(actual.schema.names) != set(types):
        problems.append(f"columns {sorted(actual.schema.names)} != spec {sorted(types)}")
    for name, wanted in types.items():
        if name in actual.schema.names and actual.schema.field(name).type != wanted:
            problems.append(f"{name}: {actual.schema.field(name).type} != spec {wanted}")
    return problems


def assert_no_problems(problems: list[str], what: str) -> None:
    shown = "\n".join(problems[:40])
    assert not problems, f"{what}: {len(problems)} mismatches (first 40):\n{shown}"
