"""Small random feature tables in the platform's layout, for Feast to join: ties in event time
(broken by created time, or not at all), nulls, rows at the TTL edges. The definitions are
the real ones of feature_repo/; only the Delta tables under them are made up."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
from feast import FeatureStore

from benchmarks.training_set.data import INTEGER_FEATURES, feature_schema
from tests.training.point_in_time_oracle import VIEWS

START = datetime(2024, 1, 10, tzinfo=UTC)
SPAN = timedelta(days=12)
US = timedelta(microseconds=1)
NULLABLE_FEATURES = {
    "user_amount_mean_7d",
    "user_seconds_since_prev_txn",
    "user_km_from_prev_txn",
    "user_velocity_kmh",
    "merchant_fraud_rate_30d",
}


def random_feature_rows(view: str, entities: list[str], rng: random.Random) -> pa.Table:
    entity, features, _ = VIEWS[view]
    rows = []

    def add(entity_id: str, at: datetime, created: datetime) -> None:
        row = {
            "transaction_id": f"{view}-{len(rows)}",
            entity: entity_id,
            "event_timestamp": at,
            "created_timestamp": created,
            "event_date": at.date(),
            "inputs_as_of": at,
        }
        for name in features:
            if name in NULLABLE_FEATURES and rng.random() < 0.2:
                row[name] = None
            elif name in INTEGER_FEATURES:
                row[name] = rng.randrange(0, 60)
            else:
                row[name] = round(rng.uniform(0.5, 900.0), 6)
        rows.append(row)

    for entity_id in entities:
        for _ in range(rng.randrange(4, 12)):
            at = START + timedelta(microseconds=rng.randrange(int(SPAN / US)))
            created = at + timedelta(seconds=rng.randrange(1, 7200))
            add(entity_id, at, created)
            kind = rng.random()
            if kind < 0.25:  # same event time, ingested later: the later one wins
                add(entity_id, at, created + timedelta(seconds=rng.randrange(1, 600)))
            elif kind < 0.35:  # same event and created time: either row is right
                add(entity_id, at, created)
            elif kind < 0.45:  # one microsecond apart
                add(entity_id, at + US, created)
    return pa.Table.from_pylist(rows, schema=feature_schema(entity, features))


def random_entity_rows(
    feature_tables: dict[str, pa.Table], count: int, rng: random.Random
) -> list[dict]:
    """Entity rows at the interesting times of the tables: exactly at a feature row (ties),
    a microsecond around it, exactly at and just past the TTL, before any feature row,
    anywhere; plus unknown entities and rows repeating another row's keys and time."""
    users = feature_tables["user_features"].to_pylist()
    merchants = sorted(set(feature_tables["merchant_features"]["merchant_id"].to_pylist()))
    ttl = VIEWS["user_features"][2]
    rows = []
    for number in range(count):
        anchor = rng.choice(users)
        user, at = anchor["user_id"], anchor["event_timestamp"]
        kind = rng.randrange(8)
        if kind == 1:
            at += US
        elif kind == 2:
            at -= US
        elif kind == 3:
            at += ttl
        elif kind == 4:
            at += ttl + US
        elif kind == 5:
            at = START - timedelta(seconds=rng.randrange(1, 86400))
        elif kind == 6:
            at = START + timedelta(microseconds=rng.randrange(int((SPAN + ttl) / US)))
        if rng.random() < 0.05:
            user = "user-never-seen"
        merchant = rng.choice([*merchants, "merchant-never-seen"])
        row = {
            "transaction_id": f"entity-{number:05d}",
            "user_id": user,
            "merchant_id": merchant,
            "event_timestamp": at,
            "amount": round(rng.uniform(0.5, 2000.0), 2),
            "transaction_time": at,
        }
        rows.append(row)
        if rng.random() < 0.1:  # same keys and time, another transaction
            rows.append({**row, "transaction_id": f"entity-{number:05d}-twin"})
    return rows


def entity_frame(rows: list[dict], zone: str) -> pd.DataFrame:
    """The rows as a pandas entity frame with its timestamps shown in `zone`."""
    frame = pd.DataFrame(rows)
    for column in ("event_timestamp", "transaction_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(zone)
    return frame


@dataclass
class SyntheticFeatureStore:
    store: FeatureStore
    lake_root: str
    tables: dict[str, pa.Table]
    """Each view's rows as first written (Delta version 0)."""

    def uri(self, view: str) -> str:
        return f"{self.lake_root}/features/{view}"
