"""One day of card-payment events: legitimate traffic plus three fraud patterns, with
optional drift. Everything is vectorised; a day depends only on (seed, day, config)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from fraud_generator.config import GeneratorConfig
from fraud_generator.world import (
    BIG_TICKET_CATEGORIES,
    CARD_PRESENT_SHARES,
    CATEGORIES,
    CATEGORY_MEDIAN,
    CATEGORY_ONLINE_SHARE,
    CATEGORY_SIGMA,
    CHIP,
    CITIES,
    CITY_CURRENCY,
    CITY_IN_AMERICA,
    CITY_LAT,
    CITY_LON,
    CONTACTLESS,
    DAY_MS,
    DIGITAL_GOODS,
    ELECTRONICS,
    FASHION,
    HOUR_MS,
    MINUTE_MS,
    ONLINE,
    SWIPE,
    TRAVEL,
    World,
    day_start_ms,
    jitter,
    utc_offset_minutes,
)

FRAUD_PATTERNS = ("card_testing", "account_takeover", "high_amount_new_category")
CARD_TESTING, ACCOUNT_TAKEOVER, HIGH_AMOUNT_NEW_CATEGORY = range(len(FRAUD_PATTERNS))
FRAUD_PATTERN_SHARES = (0.4, 0.3)  # card testing, account takeover; the rest is high amount
LEGIT = -1

# Local-time activity by hour: quiet nights, lunch and evening peaks.
LOCAL_HOUR_WEIGHTS = np.array(
    [0.6, 0.35, 0.25, 0.2, 0.2, 0.35, 0.8, 1.6, 2.6, 3.2, 3.6, 4.2,
     5.2, 5.0, 4.3, 4.2, 4.6, 5.4, 6.0, 5.6, 4.6, 3.4, 2.2, 1.2]
)  # fmt: skip
DRIFT_HOUR_SHIFT = 3
DRIFT_AMOUNT_SCALE = 1.6
DRIFT_ONLINE_UPLIFT = 0.35  # share of card-present payments that move online
DRIFTED_COLUMNS = ["amount", "payment_method", "merchant_category", "event_hour"]
CONTACTLESS_WALLET_SHARE = 0.4  # contactless via a phone wallet carries a device id
TYPICAL_BASKET = 30.0  # a user's typical spend is this times their spend multiplier
ACCOUNT_TAKEOVER_CATEGORIES = np.array([ELECTRONICS, FASHION, DIGITAL_GOODS, TRAVEL])


@dataclass
class DayEvents:
    """Columns of one day's events, sorted by event time; row i has sequence number i + 1."""

    day: date
    user: np.ndarray
    card: np.ndarray
    merchant: np.ndarray
    category: np.ndarray
    amount: np.ndarray
    city: np.ndarray  # where the payment happened; decides currency and UTC offset
    lat: np.ndarray
    lon: np.ndarray
    payment_method: np.ndarray
    device: np.ndarray  # -1: no device
    event_ms: np.ndarray  # UTC epoch milliseconds
    fraud_pattern: np.ndarray  # LEGIT or an index into FRAUD_PATTERNS
    precedes_takeover: np.ndarray  # the legit payment just before an account takeover
    offset_minutes: np.ndarray  # local UTC offset at event time

    @property
    def size(self) -> int:
        return len(self.user)

    @property
    def is_fraud(self) -> np.ndarray:
        return self.fraud_pattern != LEGIT

    @property
    def currency(self) -> np.ndarray:
        return CITY_CURRENCY[self.city]


def _split_into_groups(total: int, smallest: int, largest: int, rng) -> np.ndarray:
    """Group sizes within [smallest, largest] (the last may be smaller) summing to total."""
    sizes = rng.integers(smallest, largest + 1, total // smallest + 1)
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, total)) + 1 if total else 0
    sizes = sizes[:count]
    if count:
        sizes[-1] -= ends[count - 1] - total
    return sizes


def _amounts(typical: np.ndarray, sigma: np.ndarray, rng) -> np.ndarray:
    return np.maximum(np.round(typical * rng.lognormal(0.0, sigma), 2), 0.3)


def _categories(world: World, users: np.ndarray, drifted: bool, rng) -> np.ndarray:
    """Category of each legit payment; users who never buy electronics/travel don't."""
    weight = np.array([c.drifted_weight if drifted else c.weight for c in CATEGORIES])
    restricted = weight.copy()
    restricted[list(BIG_TICKET_CATEGORIES)] = 0.0
    draws = rng.random(len(users))
    any_category = np.searchsorted(np.cumsum(weight / weight.sum()), draws, "right")
    usual_category = np.searchsorted(np.cumsum(restricted / restricted.sum()), draws, "right")
    return np.where(world.user_buys_big_ticket[users], any_category, usual_category)


def _card_present_methods(city: np.ndarray, rng) -> np.ndarray:
    methods = np.array([CHIP, CONTACTLESS, SWIPE])
    europe = rng.choice(methods, size=len(city), p=CARD_PRESENT_SHARES["europe"])
    america = rng.choice(methods, size=len(city), p=CARD_PRESENT_SHARES["america"])
    return np.where(CITY_IN_AMERICA[city], america, europe)


def _local_hour_times(city: np.ndarray, start_ms: int, drifted: bool, rng) -> np.ndarray:
    """UTC times within the day whose *local* hour follows the daily activity profile."""
    profile = np.roll(LOCAL_HOUR_WEIGHTS, DRIFT_HOUR_SHIFT if drifted else 0)
    local_ms = rng.choice(24, size=len(city), p=profile / profile.sum()) * HOUR_MS
    local_ms += rng.integers(0, HOUR_MS, len(city))
    noon = np.full(len(CITIES), start_ms + 12 * HOUR_MS)
    offset_ms = utc_offset_minutes(np.arange(len(CITIES)), noon).astype(np.int64) * MINUTE_MS
    return start_ms + (local_ms - offset_ms[city]) % DAY_MS


def _legit(world: World, count: int, start_ms: int, drifted: bool, rng) -> dict:
    user = rng.choice(world.user_count, size=count, p=world.user_activity)
    category = _categories(world, user, drifted, rng)
    home = world.user_city[user]
    online_share = CATEGORY_ONLINE_SHARE[category]
    if drifted:
        online_share = online_share + (1 - online_share) * DRIFT_ONLINE_UPLIFT
    online = rng.random(count) < online_share
    merchant, found_locally = world.pick_merchants(category, home, ~online, rng)
    online |= ~found_locally  # no such shop in town: bought online
    method = np.where(online, ONLINE, _card_present_methods(home, rng))
    has_device = online | ((method == CONTACTLESS) & (rng.random(count) < CONTACTLESS_WALLET_SHARE))
    typical = CATEGORY_MEDIAN[category] * world.user_spend[user]
    if drifted:
        typical = typical * DRIFT_AMOUNT_SCALE
    # online: where the device is (near home); card present: at the shop
    lat = np.where(online, world.user_lat[user], world.merchant_lat[merchant])
    lon = np.where(online, world.user_lon[user], world.merchant_lon[merchant])
    spread = np.where(online, 0.02, 0.001)
    return {
        "user": user,
        "card": world.pick_cards(user, rng),
        "merchant": merchant,
        "category": category,
        "amount": _amounts(typical, CATEGORY_SIGMA[category], rng),
        "city": home,
        "lat": jitter(rng, lat, spread),
        "lon": jitter(rng, lon, spread),
        "payment_method": method,
        "device": np.where(has_device, world.pick_user_devices(user, rng), -1),
        "event_ms": _local_hour_times(home, start_ms, drifted, rng),
        "fraud_pattern": np.full(count, LEGIT),
        "precedes_takeover": np.zeros(count, dtype=bool),
    }


def _card_testing(world: World, count: int, start_ms: int, rng) -> dict:
    """Bursts of tiny online payments on one stolen card at a digital-goods merchant,
    all within a few minutes, from the fraudster's device and location."""
    sizes = _split_into_groups(count, 5, 15, rng)
    bursts = len(sizes)
    victim = world.pick_fraud_victims(bursts, rng)
    fraudster_city = rng.integers(0, len(CITIES), bursts)
    merchant, _ = world.pick_merchants(
        np.full(bursts, DIGITAL_GOODS), fraudster_city, np.zeros(bursts, dtype=bool), rng
    )
    burst_start = start_ms + rng.integers(0, DAY_MS - 15 * MINUTE_MS, bursts)
    burst_length = rng.integers(1, 11, bursts) * MINUTE_MS
    per_row = np.repeat(np.arange(bursts), sizes)
    city = fraudster_city[per_row]
    return {
        "user": victim[per_row],
        "card": world.pick_cards(victim, rng)[per_row],
        "merchant": merchant[per_row],
        "category": np.full(count, DIGITAL_GOODS),
        "amount": np.round(rng.uniform(0.5, 5.0, count), 2),
        "city": city,
        "lat": jitter(rng, CITY_LAT[city], 0.05),
        "lon": jitter(rng, CITY_LON[city], 0.05),
        "payment_method": np.full(count, ONLINE),
        "device": world.new_fraud_devices(bursts, rng)[per_row],
        "event_ms": burst_start[per_row]
        + (rng.random(count) * burst_length[per_row]).astype(np.int64),
        "fraud_pattern": np.full(count, CARD_TESTING),
        "precedes_takeover": np.zeros(count, dtype=bool),
    }


def _account_takeover(world: World, legit: dict, count: int, start_ms: int, rng) -> dict:
    """A legit payment, then within the hour 1-3 online payments on the same card from
    another continent on a new device, for several times the usual amount."""
    sizes = _split_into_groups(count, 1, 3, rng)
    incidents = len(sizes)
    candidates = np.flatnonzero(legit["event_ms"] - start_ms < 23 * HOUR_MS)
    anchors = rng.choice(candidates, size=incidents, replace=False)
    legit["precedes_takeover"][anchors] = True
    per_row = np.repeat(np.arange(incidents), sizes)
    rank_in_incident = np.arange(count) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    victim = legit["user"][anchors]
    european, american = np.flatnonzero(~CITY_IN_AMERICA), np.flatnonzero(CITY_IN_AMERICA)
    far_city = np.where(
        CITY_IN_AMERICA[world.user_city[victim]],
        european[rng.integers(0, len(european), incidents)],
        american[rng.integers(0, len(american), incidents)],
    )[per_row]
    user = victim[per_row]
    category = ACCOUNT_TAKEOVER_CATEGORIES[rng.integers(0, len(ACCOUNT_TAKEOVER_CATEGORIES), count)]
    merchant, _ = world.pick_merchants(category, far_city, np.zeros(count, dtype=bool), rng)
    delay_ms = rng.integers(5, 41, incidents)[per_row] * MINUTE_MS
    delay_ms += rank_in_incident * rng.integers(MINUTE_MS, 5 * MINUTE_MS, count)
    typical = CATEGORY_MEDIAN[category] * world.user_spend[user]
    return {
        "user": user,
        "card": legit["card"][anchors][per_row],
        "merchant": merchant,
        "category": category,
        "amount": np.round(typical * rng.uniform(3.0, 8.0, count), 2),
        "city": far_city,
        "lat": jitter(rng, CITY_LAT[far_city], 0.05),
        "lon": jitter(rng, CITY_LON[far_city], 0.05),
        "payment_method": np.full(count, ONLINE),
        "device": world.new_fraud_devices(incidents, rng)[per_row],
        "event_ms": legit["event_ms"][anchors][per_row] + delay_ms,
        "fraud_pattern": np.full(count, ACCOUNT_TAKEOVER),
        "precedes_takeover": np.zeros(count, dtype=bool),
    }


def _high_amount_new_category(world: World, count: int, start_ms: int, rng) -> dict:
    """5-20x the user's typical spend in electronics/travel, which the user never buys:
    half with the stolen card in a local shop, half online from anywhere."""
    user = world.pick_fraud_victims(count, rng, never_big_ticket=True)
    category = np.array(BIG_TICKET_CATEGORIES)[rng.integers(0, 2, count)]
    home = world.user_city[user]
    merchant, card_present = world.pick_merchants(category, home, rng.random(count) < 0.5, rng)
    online = ~card_present
    city = np.where(online, rng.integers(0, len(CITIES), count), home)
    method = np.where(online, ONLINE, np.array([CHIP, SWIPE])[rng.integers(0, 2, count)])
    typical_spend = TYPICAL_BASKET * world.user_spend[user]
    return {
        "user": user,
        "card": world.pick_cards(user, rng),
        "merchant": merchant,
        "category": category,
        "amount": np.round(typical_spend * rng.uniform(5.0, 20.0, count), 2),
        "city": city,
        "lat": np.where(online, jitter(rng, CITY_LAT[city], 0.05), world.merchant_lat[merchant]),
        "lon": np.where(online, jitter(rng, CITY_LON[city], 0.05), world.merchant_lon[merchant]),
        "payment_method": method,
        "device": np.where(online, world.new_fraud_devices(count, rng), -1),
        "event_ms": start_ms + rng.integers(0, DAY_MS, count),
        "fraud_pattern": np.full(count, HIGH_AMOUNT_NEW_CATEGORY),
        "precedes_takeover": np.zeros(count, dtype=bool),
    }


def simulate_day(world: World, config: GeneratorConfig, day: date) -> DayEvents:
    rng = config.random_stream("events", day)
    start_ms = day_start_ms(day)
    frauds = round(config.rows_per_day * config.fraud_rate)
    card_testing = round(frauds * FRAUD_PATTERN_SHARES[0])
    takeover = round(frauds * FRAUD_PATTERN_SHARES[1])
    legit = _legit(world, config.rows_per_day - frauds, start_ms, config.is_drifted(day), rng)
    parts = [
        legit,
        _card_testing(world, card_testing, start_ms, rng),
        _account_takeover(world, legit, takeover, start_ms, rng),
        _high_amount_new_category(world, frauds - card_testing - takeover, start_ms, rng),
    ]
    event_ms = np.concatenate([part["event_ms"] for part in parts])
    order = np.argsort(event_ms, kind="stable")
    columns = {name: np.concatenate([part[name] for part in parts])[order] for name in parts[0]}
    return DayEvents(
        day=day,
        offset_minutes=utc_offset_minutes(columns["city"], columns["event_ms"]),
        **columns,
    )
