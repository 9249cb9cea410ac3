"""Brute-force oracle of the feature tables, written from docs/features.md alone.

Plain Python loops over lists of events: no pandas windowing, no DuckDB, no SQL, and no
import from `platform_assets`. Slow on purpose (every feature row scans all events of
its entity), so it is easy to read against the specification:

    W(i, w) = { transactions j of e : j != i and t - w <= t_j <= t }

- closed at both ends; other transactions at exactly `t` are in the window;
- the transaction itself never is;
- "previous transaction": the one just before `i` in the order (event_time,
  transaction_id), provided it is at most 7 days before `t`;
- a chargeback is known at `t` iff `reported_at <= t`.

Times are timezone-aware `datetime`s, so window arithmetic is exact to the microsecond.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
PREVIOUS_BOUND = timedelta(days=7)
EARTH_RADIUS_KM = 6371.0088

USER_COLUMNS = (
    "transaction_id",
    "user_id",
    "event_timestamp",
    "created_timestamp",
    "event_date",
    "user_txn_count_1h",
    "user_txn_count_24h",
    "user_txn_count_7d",
    "user_amount_sum_24h",
    "user_amount_mean_7d",
    "user_distinct_merchants_24h",
    "user_seconds_since_prev_txn",
    "user_km_from_prev_txn",
    "user_velocity_kmh",
    "inputs_as_of",
)
MERCHANT_COLUMNS = (
    "transaction_id",
    "merchant_id",
    "event_timestamp",
    "created_timestamp",
    "event_date",
    "merchant_txn_count_24h",
    "merchant_txn_count_30d",
    "merchant_chargebacks_known_30d",
    "merchant_fraud_rate_30d",
    "inputs_as_of",
)


@dataclass(frozen=True)
class Txn:
    """One silver transaction, as the oracle needs it."""

    transaction_id: str
    user_id: str
    merchant_id: str
    amount: float
    lat: float
    lon: float
    event_time: datetime  # timezone-aware UTC, microsecond precision
    ingested_at: datetime

    @property
    def event_date(self) -> date:
        return self.event_time.date()


@dataclass(frozen=True)
class Chargeback:
    transaction_id: str
    reported_at: datetime


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = math.radians(lat2 - lat1)
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def window(events: Iterable[Txn], i: Txn, width: timedelta) -> list[Txn]:
    """W(i, width): the other events at most `width` before `t`, up to and including `t`."""
    t = i.event_time
    members = []
    for j in events:
        if j.transaction_id == i.transaction_id:
            continue
        if t - width <= j.event_time <= t:
            members.append(j)
    return members


def previous(events: Iterable[Txn], i: Txn) -> Txn | None:
    """The event just before `i` by (event_time, transaction_id), if at most 7 days before."""
    key = (i.event_time, i.transaction_id)
    best = None
    for j in events:
        candidate = (j.event_time, j.transaction_id)
        if candidate < key and (best is None or candidate > (best.event_time, best.transaction_id)):
            best = j
    if best is None or i.event_time - best.event_time > PREVIOUS_BOUND:
        return None
    return best


def _latest(times: Iterable[datetime]) -> datetime | None:
    latest = None
    for time in times:
        if latest is None or time > latest:
            latest = time
    return latest


def user_features(i: Txn, user_events: list[Txn]) -> dict:
    """The user_features row of `i`; `user_events` are all transactions of `i`'s user."""
    w1h = window(user_events, i, HOUR)
    w24h = window(user_events, i, DAY)
    w7d = window(user_events, i, WEEK)

    amount_sum_24h = 0.0
    merchants_24h = set()
    for j in w24h:
        amount_sum_24h += j.amount
        merchants_24h.add(j.merchant_id)
    amount_mean_7d = None
    if w7d:
        total = 0.0
        for j in w7d:
            total += j.amount
        amount_mean_7d = total / len(w7d)

    prev = previous(user_events, i)
    seconds = km = velocity = None
    used = list(w7d)
    if prev is not None:
        seconds = (i.event_time - prev.event_time) / timedelta(seconds=1)
        km = haversine_km(prev.lat, prev.lon, i.lat, i.lon)
        if seconds != 0:
            velocity = km / (seconds / 3600)
        used.append(prev)

    return {
        "transaction_id": i.transaction_id,
        "user_id": i.user_id,
        "event_timestamp": i.event_time,
        "created_timestamp": i.ingested_at,
        "event_date": i.event_date,
        "user_txn_count_1h": len(w1h),
        "user_txn_count_24h": len(w24h),
        "user_txn_count_7d": len(w7d),
        "user_amount_sum_24h": amount_sum_24h,
        "user_amount_mean_7d": amount_mean_7d,
        "user_distinct_merchants_24h": len(merchants_24h),
        "user_seconds_since_prev_txn": seconds,
        "user_km_from_prev_txn": km,
        "user_velocity_kmh": velocity,
        "inputs_as_of": _latest(j.event_time for j in used),
    }


def merchant_features(
    i: Txn, merchant_events: list[Txn], chargebacks: dict[str, Chargeback]
) -> dict:
    """The merchant_features row of `i`; `chargebacks` maps transaction_id to its label."""
    w24h = window(merchant_events, i, DAY)
    w30d = window(merchant_events, i, MONTH)
    known = []
    for j in w30d:
        label = chargebacks.get(j.transaction_id)
        if label is not None and label.reported_at <= i.event_time:
            known.append(label)
    rate = len(known) / len(w30d) if w30d else None
    times = [j.event_time for j in w30d] + [label.reported_at for label in known]
    return {
        "transaction_id": i.transaction_id,
        "merchant_id": i.merchant_id,
        "event_timestamp": i.event_time,
        "created_timestamp": i.ingested_at,
        "event_date": i.event_date,
        "merchant_txn_count_24h": len(w24h),
        "merchant_txn_count_30d": len(w30d),
        "merchant_chargebacks_known_30d": len(known),
        "merchant_fraud_rate_30d": rate,
        "inputs_as_of": _latest(times),
    }


class Oracle:
    """All events of a data set, grouped by entity with plain dicts."""

    def __init__(self, transactions: Iterable[Txn], chargebacks: Iterable[Chargeback] = ()):
        self.transactions: dict[str, Txn] = {}
        self.by_user: dict[str, list[Txn]] = {}
        self.by_merchant: dict[str, list[Txn]] = {}
        for txn in transactions:
            assert txn.transaction_id not in self.transactions, txn.transaction_id
            self.transactions[txn.transaction_id] = txn
            self.by_user.setdefault(txn.user_id, []).append(txn)
            self.by_merchant.setdefault(txn.merchant_id, []).append(txn)
        self.chargebacks: dict[str, Chargeback] = {}
        for label in chargebacks:
            assert label.transaction_id not in self.chargebacks, label.transaction_id
            self.chargebacks[label.transaction_id] = label

    def user_row(self, transaction_id: str) -> dict:
        txn = self.transactions[transaction_id]
        return user_features(txn, self.by_user[txn.user_id])

    def merchant_row(self, transaction_id: str) -> dict:
        txn = self.transactions[transaction_id]
        return merchant_features(txn, self.by_merchant[txn.merchant_id], self.chargebacks)

    def on_day(self, day: date) -> list[str]:
        return sorted(tid for tid, txn in self.transactions.items() if txn.event_date == day)
