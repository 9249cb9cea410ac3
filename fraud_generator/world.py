"""The static world the payments happen in: cities, merchant categories, users with their
cards and devices, and merchants. Built once per run from the seed."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pyarrow as pa

from fraud_generator.config import GeneratorConfig
from fraud_generator.text import format_fixed, format_ids, take

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


@dataclass(frozen=True)
class City:
    name: str
    country: str
    currency: str
    lat: float
    lon: float
    standard_offset_minutes: int
    continent: str  # "europe" or "america"; also selects the daylight-saving rule
    population_weight: float


CITIES = (
    City("London", "GB", "GBP", 51.5074, -0.1278, 0, "europe", 9),
    City("Manchester", "GB", "GBP", 53.4808, -2.2426, 0, "europe", 3),
    City("Dublin", "IE", "EUR", 53.3498, -6.2603, 0, "europe", 2),
    City("Lisbon", "PT", "EUR", 38.7223, -9.1393, 0, "europe", 2),
    City("Paris", "FR", "EUR", 48.8566, 2.3522, 60, "europe", 8),
    City("Berlin", "DE", "EUR", 52.5200, 13.4050, 60, "europe", 6),
    City("Madrid", "ES", "EUR", 40.4168, -3.7038, 60, "europe", 5),
    City("Rome", "IT", "EUR", 41.9028, 12.4964, 60, "europe", 4),
    City("Amsterdam", "NL", "EUR", 52.3676, 4.9041, 60, "europe", 3),
    City("Helsinki", "FI", "EUR", 60.1699, 24.9384, 120, "europe", 1),
    City("New York", "US", "USD", 40.7128, -74.0060, -300, "america", 9),
    City("Miami", "US", "USD", 25.7617, -80.1918, -300, "america", 3),
    City("Chicago", "US", "USD", 41.8781, -87.6298, -360, "america", 5),
    City("Denver", "US", "USD", 39.7392, -104.9903, -420, "america", 2),
    City("Los Angeles", "US", "USD", 34.0522, -118.2437, -480, "america", 6),
)
CURRENCIES = ("EUR", "USD", "GBP")
CITY_CURRENCY = np.array([CURRENCIES.index(city.currency) for city in CITIES])
CITY_IN_AMERICA = np.array([city.continent == "america" for city in CITIES])
CITY_LAT = np.array([city.lat for city in CITIES])
CITY_LON = np.array([city.lon for city in CITIES])
CITY_STANDARD_OFFSET = np.array([city.standard_offset_minutes for city in CITIES], dtype=np.int16)


@dataclass(frozen=True)
class Category:
    name: str
    weight: float  # share of legitimate transactions
    drifted_weight: float  # share after drift_from (more digital_goods / electronics)
    median_amount: float
    amount_sigma: float  # lognormal spread
    online_share: float
    shop_words: tuple[str, ...]


CATEGORIES = (
    Category("grocery", 0.22, 0.17, 32, 0.6, 0.08, ("Market", "Foods", "Grocer")),
    Category("restaurants", 0.16, 0.13, 26, 0.5, 0.12, ("Bistro", "Grill", "Kitchen")),
    Category("fuel", 0.09, 0.07, 55, 0.35, 0.0, ("Fuel", "Petrol", "Gas")),
    Category("transport", 0.09, 0.08, 14, 0.6, 0.25, ("Transit", "Cabs", "Rail")),
    Category("pharmacy", 0.07, 0.06, 19, 0.6, 0.05, ("Pharmacy", "Chemist", "Health")),
    Category("fashion", 0.09, 0.09, 65, 0.7, 0.35, ("Boutique", "Apparel", "Shoes")),
    Category("entertainment", 0.07, 0.07, 38, 0.6, 0.45, ("Cinema", "Tickets", "Arena")),
    Category("digital_goods", 0.10, 0.20, 11, 0.8, 1.0, ("Games", "Apps", "Streaming")),
    Category("electronics", 0.06, 0.10, 160, 0.9, 0.5, ("Electronics", "Tech", "Gadgets")),
    Category("travel", 0.05, 0.03, 290, 0.8, 0.75, ("Travel", "Air", "Hotels")),
)
CATEGORY_NAMES = tuple(category.name for category in CATEGORIES)
DIGITAL_GOODS = CATEGORY_NAMES.index("digital_goods")
ELECTRONICS = CATEGORY_NAMES.index("electronics")
TRAVEL = CATEGORY_NAMES.index("travel")
FASHION = CATEGORY_NAMES.index("fashion")
BIG_TICKET_CATEGORIES = (ELECTRONICS, TRAVEL)
CATEGORY_MEDIAN = np.array([category.median_amount for category in CATEGORIES])
CATEGORY_SIGMA = np.array([category.amount_sigma for category in CATEGORIES])
CATEGORY_ONLINE_SHARE = np.array([category.online_share for category in CATEGORIES])

PAYMENT_METHODS = ("chip", "contactless", "online", "swipe")
CHIP, CONTACTLESS, ONLINE, SWIPE = range(len(PAYMENT_METHODS))
# chip / contactless / swipe shares of card-present payments: swipe survives in the US.
CARD_PRESENT_SHARES = {"europe": (0.35, 0.60, 0.05), "america": (0.50, 0.30, 0.20)}

RISK_SEGMENTS = ("low", "medium", "high")
RISK_SEGMENT_SHARES = (0.70, 0.25, 0.05)
FRAUD_VICTIM_WEIGHT_BY_RISK = np.array([1.0, 3.0, 10.0])
LOYALTY_TIERS = ("basic", "silver", "gold", "platinum")
SHOP_PREFIXES = (
    "Blue", "Corner", "Golden", "City", "Green", "North", "Star", "Urban", "Royal", "Sunny",
    "Prime", "Metro", "River", "Oak", "Silver", "Bright", "Happy", "Central", "Harbor", "Nova",
)  # fmt: skip
CARD_BINS = ("453201", "455673", "492181", "414720", "400115",
             "510510", "522233", "539876", "545616", "558899")  # fmt: skip
# Multiplying by an odd number not divisible by 5 permutes 0..10^9-1, so account numbers are
# unique without a uniqueness check.
ACCOUNT_NUMBER_MULTIPLIER = 387_420_489
FRAUD_DEVICE_POOL = 1_000_000  # fraudsters' devices, shared across victims like a real ring


def luhn_check_digits(body_digits: np.ndarray) -> np.ndarray:
    """Check digit for each row of a (n, 15) digit matrix."""
    from_right = body_digits[:, ::-1]
    doubled = from_right[:, 0::2] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + from_right[:, 1::2].sum(axis=1)
    return (10 - total % 10) % 10


def luhn_card_numbers(count: int, rng: np.random.Generator) -> pa.Array:
    """`count` unique, Luhn-valid 16-digit PANs starting with 4 (Visa) or 5 (Mastercard)."""
    bins = np.array([[int(d) for d in card_bin] for card_bin in CARD_BINS])
    bin_digits = bins[rng.integers(0, len(CARD_BINS), count)]
    account = (np.arange(count) * ACCOUNT_NUMBER_MULTIPLIER + rng.integers(0, 10**9)) % 10**9
    account_digits = account[:, None] // 10 ** np.arange(8, -1, -1) % 10
    body = np.hstack([bin_digits, account_digits])
    digits = np.hstack([body, luhn_check_digits(body)[:, None]])
    as_text = digits.astype(np.uint8) + ord("0")
    return pa.array(as_text.view("S16").ravel().astype(str))


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - 6) % 7)


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def day_start_ms(day: date) -> int:
    """UTC midnight of `day` in epoch milliseconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


def _utc_ms(day: date, minutes_after_midnight_utc: int) -> int:
    return day_start_ms(day) + minutes_after_midnight_utc * MINUTE_MS


@lru_cache(maxsize=8)
def daylight_saving_windows(year: int) -> tuple[np.ndarray, np.ndarray]:
    """Per city, [start, end) of daylight-saving time in UTC epoch ms.
    EU: last Sunday of March to last Sunday of October at 01:00 UTC.
    US: second Sunday of March 02:00 to first Sunday of November 02:00 local time."""
    starts, ends = [], []
    for city in CITIES:
        if city.continent == "europe":
            starts.append(_utc_ms(_last_sunday(year, 3), 60))
            ends.append(_utc_ms(_last_sunday(year, 10), 60))
        else:
            standard = city.standard_offset_minutes
            starts.append(_utc_ms(_nth_sunday(year, 3, 2), 120 - standard))
            ends.append(_utc_ms(_nth_sunday(year, 11, 1), 60 - standard))
    return np.array(starts), np.array(ends)


def utc_offset_minutes(city: np.ndarray, utc_ms: np.ndarray) -> np.ndarray:
    """Local UTC offset of each city at each instant, daylight saving included."""
    offsets = CITY_STANDARD_OFFSET[city].copy()
    years = utc_ms.astype("datetime64[ms]").astype("datetime64[Y]").astype(np.int64) + 1970
    for year in np.unique(years):
        starts, ends = daylight_saving_windows(int(year))
        in_summer = (years == year) & (utc_ms >= starts[city]) & (utc_ms < ends[city])
        offsets[in_summer] += 60
    return offsets


def jitter(rng: np.random.Generator, centre: np.ndarray, degrees: float | np.ndarray) -> np.ndarray:
    return np.round(centre + rng.normal(0.0, degrees, centre.shape), 5)


def _pick(first: np.ndarray, count: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly chosen index within each [first, first + count)."""
    return first + np.floor(rng.random(first.shape) * count).astype(np.int64)


@dataclass
class World:
    user_city: np.ndarray
    user_lat: np.ndarray
    user_lon: np.ndarray
    user_signup: np.ndarray  # datetime64[D]
    user_risk: np.ndarray
    user_spend: np.ndarray  # multiplier of the category's typical amount (lognormal)
    user_activity: np.ndarray  # probability that a transaction is this user's
    user_buys_big_ticket: np.ndarray  # uses electronics/travel at all
    user_first_card: np.ndarray
    user_card_count: np.ndarray
    user_first_device: np.ndarray
    user_device_count: np.ndarray
    merchant_category: np.ndarray
    merchant_city: np.ndarray
    merchant_lat: np.ndarray
    merchant_lon: np.ndarray
    merchant_names: pa.Array
    card_numbers: pa.Array
    user_ids: pa.Array
    merchant_ids: pa.Array
    device_count: int
    # merchants sorted by (category, city) for vectorised lookups
    merchants_by_key: np.ndarray
    sorted_merchant_keys: np.ndarray

    @property
    def user_count(self) -> int:
        return len(self.user_city)

    @property
    def device_id_width(self) -> int:
        return max(7, len(str(self.device_count + FRAUD_DEVICE_POOL)))

    def pick_cards(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _pick(self.user_first_card[users], self.user_card_count[users], rng)

    def pick_user_devices(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _pick(self.user_first_device[users], self.user_device_count[users], rng)

    def new_fraud_devices(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Devices the victims never used."""
        return self.device_count + rng.integers(0, FRAUD_DEVICE_POOL, count)

    def pick_merchants(
        self, category: np.ndarray, city: np.ndarray, local: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """A merchant of each category; in `city` where `local` (card present), anywhere
        otherwise. Returns (merchant, found_locally_or_not_needed)."""
        n_cities = len(CITIES)
        key = category * n_cities + city
        local_first = np.searchsorted(self.sorted_merchant_keys, key, "left")
        local_count = np.searchsorted(self.sorted_merchant_keys, key, "right") - local_first
        any_first = np.searchsorted(self.sorted_merchant_keys, category * n_cities, "left")
        any_count = (
            np.searchsorted(self.sorted_merchant_keys, (category + 1) * n_cities, "left")
            - any_first
        )
        use_local = local & (local_count > 0)
        first = np.where(use_local, local_first, any_first)
        count = np.where(use_local, local_count, any_count)
        merchant = self.merchants_by_key[_pick(first, count, rng)]
        return merchant, use_local | ~local

    def pick_fraud_victims(
        self, count: int, rng: np.random.Generator, never_big_ticket: bool = False
    ) -> np.ndarray:
        """Users hit by fraud: riskier segments are hit more often."""
        weight = FRAUD_VICTIM_WEIGHT_BY_RISK[self.user_risk]
        if never_big_ticket and not self.user_buys_big_ticket.all():
            weight = weight * ~self.user_buys_big_ticket
        return rng.choice(self.user_count, size=count, p=weight / weight.sum())


def build_world(config: GeneratorConfig) -> World:
    rng = config.random_stream("world")
    n_users, n_merchants = config.user_count, config.merchant_count
    city_weight = np.array([city.population_weight for city in CITIES], dtype=float)
    city_weight /= city_weight.sum()

    user_city = rng.choice(len(CITIES), size=n_users, p=city_weight)
    user_card_count = 1 + (rng.random(n_users) < 0.3)
    user_device_count = 1 + (rng.random(n_users) < 0.35)
    activity = rng.lognormal(0.0, 0.8, n_users)
    signup_days_before_start = rng.integers(30, 1500, n_users)

    # The first merchants cover every (category, city) pair, all categories first, so
    # card-present payments find a local shop; the rest follow category and city weights.
    covering = np.arange(min(n_merchants, len(CATEGORIES) * len(CITIES)))
    others = n_merchants - len(covering)
    category_weight = np.array([category.weight for category in CATEGORIES])
    merchant_category = np.concatenate(
        [
            covering % len(CATEGORIES),
            rng.choice(len(CATEGORIES), size=others, p=category_weight / category_weight.sum()),
        ]
    )
    merchant_city = np.concatenate(
        [covering // len(CATEGORIES), rng.choice(len(CITIES), size=others, p=city_weight)]
    )
    shop_prefix = rng.integers(0, len(SHOP_PREFIXES), n_merchants)
    shop_word = rng.integers(0, 3, n_merchants)
    merchant_key = merchant_category * len(CITIES) + merchant_city
    merchants_by_key = np.argsort(merchant_key, kind="stable")

    return World(
        user_city=user_city,
        user_lat=jitter(rng, CITY_LAT[user_city], 0.04),
        user_lon=jitter(rng, CITY_LON[user_city], 0.04),
        user_signup=np.datetime64(config.start, "D") - signup_days_before_start,
        user_risk=rng.choice(len(RISK_SEGMENTS), size=n_users, p=RISK_SEGMENT_SHARES),
        user_spend=rng.lognormal(0.0, 0.45, n_users),
        user_activity=activity / activity.sum(),
        user_buys_big_ticket=rng.random(n_users) < 0.35,
        user_first_card=np.cumsum(user_card_count) - user_card_count,
        user_card_count=user_card_count,
        user_first_device=np.cumsum(user_device_count) - user_device_count,
        user_device_count=user_device_count,
        merchant_category=merchant_category,
        merchant_city=merchant_city,
        merchant_lat=jitter(rng, CITY_LAT[merchant_city], 0.03),
        merchant_lon=jitter(rng, CITY_LON[merchant_city], 0.03),
        merchant_names=pa.array(
            [
                f"{SHOP_PREFIXES[p]} {CATEGORIES[c].shop_words[w]}"
                for p, c, w in zip(shop_prefix, merchant_category, shop_word, strict=True)
            ]
        ),
        card_numbers=luhn_card_numbers(int(user_card_count.sum()), rng),
        user_ids=format_ids("u", np.arange(1, n_users + 1), max(6, len(str(n_users)))),
        merchant_ids=format_ids("m", np.arange(1, n_merchants + 1), max(5, len(str(n_merchants)))),
        device_count=int(user_device_count.sum()),
        merchants_by_key=merchants_by_key,
        sorted_merchant_keys=merchant_key[merchants_by_key],
    )


def reference_tables(world: World) -> dict[str, dict[str, pa.Array]]:
    """users and merchants snapshots, as CSV field texts keyed by landing path."""
    countries = pa.array([city.country for city in CITIES])
    return {
        "reference/users/users.csv": {
            "user_id": world.user_ids,
            "home_lat": format_fixed(world.user_lat, 5),
            "home_lon": format_fixed(world.user_lon, 5),
            "home_country": take(countries, world.user_city),
            "signup_date": pa.array(np.datetime_as_string(world.user_signup, unit="D")),
            "risk_segment": take(pa.array(RISK_SEGMENTS), world.user_risk),
        },
        "reference/merchants/merchants.csv": {
            "merchant_id": world.merchant_ids,
            "merchant_name": world.merchant_names,
            "merchant_category": take(pa.array(CATEGORY_NAMES), world.merchant_category),
            "merchant_lat": format_fixed(world.merchant_lat, 5),
            "merchant_lon": format_fixed(world.merchant_lon, 5),
            "merchant_country": take(countries, world.merchant_city),
        },
    }
