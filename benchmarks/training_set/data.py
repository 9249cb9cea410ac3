"""Feature tables and labelled entity rows for the training-set benchmark.

Generated (numpy, seeded), once per (entity rows, seed), under the work directory; a stamp
holding the settings marks a finished generation. Never timed.

- `lake/features/user_features` and `lake/features/merchant_features`: Delta tables in the
  platform's layout (the columns and types of `platform_assets.features.schemas`, partitioned
  by `event_date`), one row per transaction of a 60-day stream (DAYS), written in one commit
  each (version 0). Values are random but satisfy the tables' Pandera schemas (nested
  windows, null means iff empty windows, ...). 1% of the transactions are delivered twice:
  a second row at the same (entity, event_timestamp) with other values and a later
  `created_timestamp`, so the tie-break on `created_timestamp` decides which one is joined.
  `created_timestamp` is the ingestion time (01:00 UTC the next day) plus the row's place in
  the delivery in microseconds: no two rows of an entity share both timestamps, so the
  right row is always defined (Feast leaves full ties undefined).
- `labels.parquet`: the entity frame, the training-set asset's input: the columns of
  `platform_assets.training.labels.LABELS_SCHEMA`, every row labelled (`fraud` / `legit`).

Entity rows come in kinds (shares of the rows, see KINDS), so every case of a point-in-time
join occurs at scale: rows at exactly their own transaction's feature timestamp (the
production case: the join's inclusive edge), rows between feature rows, users idle for
longer than the user view's 7-day TTL (features must come back null, the row kept), users
and merchants without any feature row, rows before the first feature day, and rows sharing
(user, instant) with another row (two payments of one card at one instant).
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from benchmarks.workspace import generated_once, generation_settings
from platform_assets.features.compute import MERCHANT_FEATURE_COLUMNS, USER_FEATURE_COLUMNS
from platform_assets.features.schemas import MERCHANT_FEATURES_SCHEMA, USER_FEATURES_SCHEMA
from platform_assets.training.labels import LABELS_SCHEMA

FIRST_DAY = date(2024, 1, 1)
DAYS = 60
DAY = FIRST_DAY + timedelta(days=DAYS - 1)
"""The last feature day (the runner's `--day`; informational)."""
USER_TABLE = "features/user_features"
MERCHANT_TABLE = "features/merchant_features"
LABELS_FILE = "labels.parquet"

TRANSACTIONS_PER_ENTITY_ROW = 3
"""Feature rows per table per entity row: 3M transactions (x 2 tables) at 1M entity rows."""
ENTITY_ROWS_PER_USER = 10
"""100,000 users at 1M entity rows (30 transactions per user in 60 days)."""
ENTITY_ROWS_PER_MERCHANT = 100
"""10,000 merchants at 1M entity rows (300 transactions per merchant on average)."""
DORMANT_USERS = 0.10
"""Share of users active only in the first DORMANT_LAST_DAY days."""
DORMANT_LAST_DAY = 20
DUPLICATE_DELIVERIES = 0.01
KINDS = {
    "own transaction (feature row at the same instant)": 0.45,
    "between feature rows": 0.30,
    "user idle for more than 7 days": 0.10,
    "user without feature rows": 0.05,
    "before the first feature day": 0.03,
    "merchant without feature rows": 0.02,
    "same (user, instant) as another row": 0.05,
}
FRAUD_RATE = 0.02

UTC_TIME = pa.timestamp("us", tz="UTC")
INTEGER_FEATURES = {
    name
    for schema in (USER_FEATURES_SCHEMA, MERCHANT_FEATURES_SCHEMA)
    for name, column in schema.columns.items()
    if str(column.dtype) == "int64[pyarrow]"
}
US_PER_DAY = 86_400_000_000
START_US = int(datetime.combine(FIRST_DAY, datetime.min.time(), UTC).timestamp() * 1e6)


def feature_schema(entity: str, features: tuple[str, ...]) -> pa.Schema:
    """The platform's feature-table columns, in the order `compute.py` writes them."""
    return pa.schema(
        [
            ("transaction_id", pa.string()),
            (entity, pa.string()),
            ("event_timestamp", UTC_TIME),
            ("created_timestamp", UTC_TIME),
            ("event_date", pa.date32()),
            *(
                (name, pa.int64() if name in INTEGER_FEATURES else pa.float64())
                for name in features
            ),
            ("inputs_as_of", UTC_TIME),
        ]
    )


USER_SCHEMA = feature_schema("user_id", USER_FEATURE_COLUMNS)
MERCHANT_SCHEMA = feature_schema("merchant_id", MERCHANT_FEATURE_COLUMNS)


def sizes(entity_rows: int) -> dict[str, int]:
    return {
        "entity_rows": entity_rows,
        "transactions": entity_rows * TRANSACTIONS_PER_ENTITY_ROW,
        "users": max(entity_rows // ENTITY_ROWS_PER_USER, 20),
        "merchants": max(entity_rows // ENTITY_ROWS_PER_MERCHANT, 10),
    }


def training_data(work_dir: Path, entity_rows: int, seed: int) -> Path:
    """The data folder (holding `lake/` and `labels.parquet`), generated if needed."""
    folder = work_dir / "data" / f"training-set-rows-{entity_rows}-days-{DAYS}-seed-{seed}"
    settings = {**sizes(entity_rows), "days": DAYS, "seed": seed}
    generated_once(folder, settings, lambda: generate(folder, entity_rows, seed))
    return folder


def lake_root(data: Path) -> Path:
    return data / "lake"


def generate(folder: Path, entity_rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = sizes(entity_rows)
    stream = _transactions(rng, size)
    for table, rows in (
        (USER_TABLE, _user_rows(rng, stream)),
        (MERCHANT_TABLE, _merchant_rows(rng, stream)),
    ):
        write_deltalake(str(lake_root(folder) / table), rows, partition_by=["event_date"])
    pq.write_table(_labels(rng, size, stream), folder / LABELS_FILE)


def _transactions(rng: np.random.Generator, size: dict) -> dict[str, np.ndarray]:
    """The transaction stream behind both feature tables, duplicate deliveries included."""
    count = size["transactions"]
    users, merchants = size["users"], size["merchants"]
    dormant_from = users - int(users * DORMANT_USERS)
    user = rng.integers(0, users, count)
    at = rng.integers(0, DAYS * US_PER_DAY, count)
    # dormant users' transactions all fall into the first DORMANT_LAST_DAY days
    dormant = user >= dormant_from
    at[dormant] = rng.integers(0, DORMANT_LAST_DAY * US_PER_DAY, dormant.sum())
    merchant = rng.choice(merchants, count, p=merchant_weights(rng, merchants))
    number = np.arange(count)
    repeat = rng.choice(count, int(count * DUPLICATE_DELIVERIES), replace=False)
    stream = {
        "number": np.concatenate([number, repeat]),
        "user": np.concatenate([user, user[repeat]]),
        "merchant": np.concatenate([merchant, merchant[repeat]]),
        "at": np.concatenate([at, at[repeat]]),
        "delivery": np.concatenate([np.zeros(count, np.int64), np.ones(repeat.size, np.int64)]),
        "dormant_from": np.array(dormant_from),
    }
    day = stream["at"] // US_PER_DAY
    # ingested at 01:00 the next day, in delivery order (repeats come after the originals)
    stream["created"] = (day + 1) * US_PER_DAY + 3_600_000_000 + np.arange(day.size)
    return stream


def merchant_weights(rng: np.random.Generator, merchants: int) -> np.ndarray:
    """Merchant popularity, lognormal: a few large merchants, many small ones."""
    weights = rng.lognormal(0.0, 1.0, merchants)
    return weights / weights.sum()


def _timestamps(offsets_us: np.ndarray) -> pa.Array:
    return pa.array(START_US + offsets_us, pa.int64()).cast(UTC_TIME)


def _common(stream: dict, entity: str, ids: np.ndarray, prefix: str) -> dict[str, pa.Array]:
    rows = stream["number"].size
    at = stream["at"]
    transaction = np.char.add(
        np.char.add("t", np.char.zfill(stream["number"].astype(str), 9)),
        np.where(stream["delivery"] == 1, "-redelivered", ""),
    )
    return {
        "transaction_id": pa.array(transaction),
        entity: pa.array(np.char.add(prefix, np.char.zfill(ids.astype(str), 6))),
        "event_timestamp": _timestamps(at),
        "created_timestamp": _timestamps(stream["created"]),
        "event_date": pa.array(
            [FIRST_DAY + timedelta(days=int(d)) for d in range(DAYS)], pa.date32()
        ).take(pa.array(at // US_PER_DAY)),
        "_rows": rows,
    }


def _nullable(rng: np.random.Generator, values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(values, pa.float64(), mask=missing)


def _user_rows(rng: np.random.Generator, stream: dict) -> pa.Table:
    columns = _common(stream, "user_id", stream["user"], "u")
    rows = columns.pop("_rows")
    count_7d = rng.integers(0, 60, rows)
    count_24h = np.minimum(count_7d, rng.integers(0, 15, rows))
    count_1h = np.minimum(count_24h, rng.integers(0, 4, rows))
    empty = count_7d == 0
    no_previous = empty | (rng.random(rows) < 0.05)
    seconds = rng.uniform(0, 7 * 86_400, rows)
    km = rng.exponential(20.0, rows)
    values = {
        "user_txn_count_1h": pa.array(count_1h),
        "user_txn_count_24h": pa.array(count_24h),
        "user_txn_count_7d": pa.array(count_7d),
        "user_amount_sum_24h": pa.array(np.round(rng.exponential(80.0, rows) * count_24h, 2)),
        "user_amount_mean_7d": _nullable(rng, rng.lognormal(3.5, 1.0, rows), empty),
        "user_distinct_merchants_24h": pa.array(np.minimum(count_24h, rng.integers(0, 6, rows))),
        "user_seconds_since_prev_txn": _nullable(rng, seconds, no_previous),
        "user_km_from_prev_txn": _nullable(rng, km, no_previous),
        "user_velocity_kmh": _nullable(
            rng, km / (np.maximum(seconds, 1.0) / 3600), no_previous | (seconds <= 0)
        ),
    }
    return _table(USER_SCHEMA, columns, values)


def _merchant_rows(rng: np.random.Generator, stream: dict) -> pa.Table:
    columns = _common(stream, "merchant_id", stream["merchant"], "m")
    rows = columns.pop("_rows")
    count_30d = rng.integers(0, 3_000, rows)
    count_24h = np.minimum(count_30d, rng.integers(0, 120, rows))
    known = np.minimum(count_30d, rng.binomial(np.maximum(count_30d, 0), 0.01))
    rate = np.divide(known, count_30d, out=np.zeros(rows), where=count_30d > 0)
    values = {
        "merchant_txn_count_24h": pa.array(count_24h),
        "merchant_txn_count_30d": pa.array(count_30d),
        "merchant_chargebacks_known_30d": pa.array(known),
        "merchant_fraud_rate_30d": _nullable(rng, rate, count_30d == 0),
    }
    return _table(MERCHANT_SCHEMA, columns, values)


def _table(schema: pa.Schema, columns: dict, values: dict) -> pa.Table:
    columns = {**columns, **values, "inputs_as_of": columns["event_timestamp"]}
    return pa.table([columns[name] for name in schema.names], schema=schema)


def _labels(rng: np.random.Generator, size: dict, stream: dict) -> pa.Table:
    """The entity rows, KINDS mixed and shuffled; every row labelled."""
    rows = size["entity_rows"]
    users, merchants = size["users"], size["merchants"]
    counts = {kind: int(rows * share) for kind, share in KINDS.items()}
    counts["between feature rows"] += rows - sum(counts.values())
    weights = merchant_weights(np.random.default_rng(0), merchants)
    active_users = int(stream["dormant_from"])
    parts = []  # (user, merchant, at) per kind; user/merchant -1: one without feature rows

    def random_merchants(n: int) -> np.ndarray:
        return rng.choice(merchants, n, p=weights)

    n = counts["own transaction (feature row at the same instant)"]
    originals = np.flatnonzero(
        (stream["delivery"] == 0)
        & (stream["at"] >= 7 * US_PER_DAY)
        & (stream["user"] < active_users)
    )
    pick = rng.choice(originals, n, replace=False)
    parts.append((stream["user"][pick], stream["merchant"][pick], stream["at"][pick]))
    n = counts["between feature rows"]
    parts.append(
        (
            rng.integers(0, active_users, n),
            random_merchants(n),
            rng.integers(0, DAYS * US_PER_DAY, n),
        )
    )
    n = counts["user idle for more than 7 days"]
    parts.append(
        (
            rng.integers(active_users, users, n),
            random_merchants(n),
            rng.integers((DORMANT_LAST_DAY + 8) * US_PER_DAY, DAYS * US_PER_DAY, n),
        )
    )
    n = counts["user without feature rows"]
    parts.append((np.full(n, -1), random_merchants(n), rng.integers(0, DAYS * US_PER_DAY, n)))
    n = counts["before the first feature day"]
    parts.append(
        (rng.integers(0, users, n), random_merchants(n), rng.integers(-7 * US_PER_DAY, 0, n))
    )
    n = counts["merchant without feature rows"]
    parts.append(
        (rng.integers(0, active_users, n), np.full(n, -1), rng.integers(0, DAYS * US_PER_DAY, n))
    )
    user = np.concatenate([part[0] for part in parts])
    merchant = np.concatenate([part[1] for part in parts])
    at = np.concatenate([part[2] for part in parts])
    n = counts["same (user, instant) as another row"]
    twin = rng.choice(user.size, n, replace=False)
    user = np.concatenate([user, user[twin]])
    merchant = np.concatenate([merchant, random_merchants(n)])
    at = np.concatenate([at, at[twin]])

    order = rng.permutation(rows)
    user, merchant, at = user[order], merchant[order], at[order]
    user_ids = np.where(
        user < 0,
        np.char.add("u-new-", np.arange(rows).astype(str)),
        np.char.add("u", np.char.zfill(user.astype(str), 6)),
    )
    merchant_ids = np.where(
        merchant < 0,
        np.char.add("m-new-", np.arange(rows).astype(str)),
        np.char.add("m", np.char.zfill(merchant.astype(str), 6)),
    )
    label = (rng.random(rows) < FRAUD_RATE).astype(np.int64)
    reported = np.where(label == 1, at + rng.integers(1, 30, rows) * US_PER_DAY, 0)
    times = _timestamps(at)
    columns = {
        "transaction_id": pa.array(np.char.add("e", np.char.zfill(np.arange(rows).astype(str), 8))),
        "user_id": pa.array(user_ids),
        "merchant_id": pa.array(merchant_ids),
        "event_timestamp": times,
        "amount": pa.array(np.round(rng.lognormal(3.5, 1.2, rows), 2) + 0.01),
        "transaction_time": times,
        "label": pa.array(label),
        "label_status": pa.array(np.where(label == 1, "fraud", "legit")),
        "chargeback_reported_at": pa.array(reported, mask=label == 0)
        .cast(pa.int64())
        .cast(UTC_TIME),
        "chargeback_reason": pa.array(np.where(label == 1, "fraud_card_not_present", None)),
    }
    return pa.table([columns[field.name] for field in LABELS_SCHEMA], schema=LABELS_SCHEMA)


def read_labels(data: Path) -> pa.Table:
    return pq.read_table(data / LABELS_FILE, schema=LABELS_SCHEMA)


def table_uri(data: Path, table: str) -> str:
    return str(lake_root(data) / table)


def describe(data: Path) -> list[tuple[str, str]]:
    """What was generated: sizes, files, the kinds of entity rows."""
    settings = generation_settings(data)
    tables = []
    for table in (USER_TABLE, MERCHANT_TABLE):
        delta = DeltaTable(table_uri(data, table))
        files = delta.file_uris()
        size = sum(Path(uri.removeprefix("file://")).stat().st_size for uri in files)
        rows = delta.to_pyarrow_dataset().count_rows()
        tables.append(
            f"`{table}` {rows:,} rows in {len(files)} Parquet files, {size / 2**20:,.0f} MiB"
        )
    kinds = ", ".join(f"{kind} {share:.0%}" for kind, share in KINDS.items())
    return [
        (
            f"data, {settings['entity_rows']:,} entity rows",
            f"{settings['days']} days from {FIRST_DAY} (seed {settings['seed']}), "
            f"{settings['users']:,} users ({DORMANT_USERS:.0%} idle after day "
            f"{DORMANT_LAST_DAY}), {settings['merchants']:,} merchants (lognormal popularity), "
            f"{settings['transactions']:,} transactions + {DUPLICATE_DELIVERIES:.0%} delivered "
            f"twice; Delta: {'; '.join(tables)}; entity rows: {kinds}",
        )
    ]
