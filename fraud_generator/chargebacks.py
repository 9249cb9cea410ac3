"""Chargebacks (the fraud labels): most frauds are charged back 1-30 days later, plus a few
disputes of legitimate payments. Written by reported date, up to the as-of date."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from fraud_generator.config import GeneratorConfig
from fraud_generator.events import DayEvents
from fraud_generator.text import encode_strings, format_timestamps, take
from fraud_generator.world import DAY_MS, ONLINE, World, utc_offset_minutes
from fraud_generator.writer import transaction_ids, write_table

FRAUD_CHARGEBACK_SHARE = 0.9
LEGIT_DISPUTE_SHARE = 0.0005
REASONS = ("fraud_card_not_present", "fraud_stolen_card", "customer_dispute")
CARD_NOT_PRESENT, STOLEN_CARD, CUSTOMER_DISPUTE = range(len(REASONS))
CHARGEBACK_TRUTH_SCHEMA = pa.schema(
    [
        ("transaction_id", pa.string()),
        ("reported_at", pa.timestamp("us", tz="UTC")),
        ("reason", pa.string()),
        ("source_file", pa.string()),
        ("line", pa.int64()),
    ]
)


@dataclass
class Chargebacks:
    day_ordinal: np.ndarray  # of the charged-back transaction
    sequence: np.ndarray
    reported_ms: np.ndarray
    reason: np.ndarray
    offset_minutes: np.ndarray  # the cardholder's local offset when reported

    @classmethod
    def concat(cls, parts: list[Chargebacks]) -> Chargebacks:
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    def select(self, rows: np.ndarray) -> Chargebacks:
        return Chargebacks(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


def simulate_chargebacks(
    events: DayEvents, expected_in_silver: np.ndarray, world: World, config: GeneratorConfig
) -> Chargebacks:
    """Chargebacks of one day's transactions. Every event gets its draws whether or not it
    is eligible, so corrupting a line never changes the other events' chargebacks. Only
    transactions expected in silver are charged back, so every label has its transaction."""
    rng = config.random_stream("chargebacks", events.day)
    draw = rng.random(events.size)
    delay_ms = rng.uniform(DAY_MS, 30 * DAY_MS, events.size).astype(np.int64)
    share = np.where(events.is_fraud, FRAUD_CHARGEBACK_SHARE, LEGIT_DISPUTE_SHARE)
    rows = np.flatnonzero((draw < share) & expected_in_silver)
    fraud_reason = np.where(events.payment_method[rows] == ONLINE, CARD_NOT_PRESENT, STOLEN_CARD)
    reported_ms = events.event_ms[rows] + delay_ms[rows]
    return Chargebacks(
        day_ordinal=np.full(len(rows), events.day.toordinal()),
        sequence=rows + 1,
        reported_ms=reported_ms,
        reason=np.where(events.is_fraud[rows], fraud_reason, CUSTOMER_DISPUTE),
        offset_minutes=utc_offset_minutes(world.user_city[events.user[rows]], reported_ms),
    )


def write_chargebacks(
    landing: Path, chargebacks: Chargebacks, known_until: date, width: int
) -> tuple[list[dict], pa.Table]:
    """One JSONL file per reported UTC date up to `known_until`; returns the file records
    and the ground truth of the written chargebacks."""
    epoch_day = (known_until - date(1970, 1, 1)).days
    known = chargebacks.select(np.flatnonzero(chargebacks.reported_ms // DAY_MS <= epoch_day))
    ordered = known.select(np.lexsort((known.sequence, known.day_ordinal, known.reported_ms)))
    reported_day = ordered.reported_ms // DAY_MS
    records, truths = [], []
    for day in np.unique(reported_day):
        batch = ordered.select(np.flatnonzero(reported_day == day))
        path = f"chargebacks/{np.datetime64(int(day), 'D')}/chargebacks.jsonl"
        ids = transaction_ids(batch.day_ordinal, batch.sequence, width)
        reasons = take(pa.array(REASONS), batch.reason)
        reported_at = format_timestamps(batch.reported_ms, batch.offset_minutes)
        fields_text = {"transaction_id": ids, "reported_at": reported_at, "reason": reasons}
        encoded = {name: encode_strings(values, "jsonl") for name, values in fields_text.items()}
        records.append(write_table(landing, path, "jsonl", encoded))
        truths.append(
            pa.table(
                {
                    "transaction_id": ids,
                    "reported_at": pa.array(
                        batch.reported_ms * 1000, CHARGEBACK_TRUTH_SCHEMA.field("reported_at").type
                    ),
                    "reason": reasons,
                    "source_file": pa.array([path] * len(ids)),
                    "line": pa.array(np.arange(1, len(ids) + 1)),
                },
                schema=CHARGEBACK_TRUTH_SCHEMA,
            )
        )
    truth = pa.concat_tables(truths) if truths else CHARGEBACK_TRUTH_SCHEMA.empty_table()
    return records, truth
