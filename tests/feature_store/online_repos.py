"""Tiny Feast repositories for the online-store tests: two daily windows of a 10-feature
user view in one Parquet file, and how the tests push and read them."""

from datetime import date
from pathlib import Path

from feast import FeatureStore

from benchmarks.feature_store.repo import (
    AMOUNTS,
    COUNTS,
    SERVICE,
    VIEW,
    day_bounds,
    feature_rows,
    online_store,
    write_repo,
    write_source,
)

USERS = 12
OLD_DAY, NEW_DAY = date(2024, 1, 7), date(2024, 1, 8)
OLD_SEED, NEW_SEED = 1, 2
FEATURES = COUNTS + AMOUNTS


def two_day_source(folder: Path) -> Path:
    """The same users on two days, with different values."""
    tables = [feature_rows(USERS, OLD_DAY, OLD_SEED), feature_rows(USERS, NEW_DAY, NEW_SEED)]
    return write_source(folder / "features.parquet", tables)


def repo(
    root: Path,
    source: Path,
    kind: str,
    bulk: bool,
    project: str,
    bulk_engine: bool | None = None,
    store_settings: dict | None = None,
    **settings,
) -> FeatureStore:
    """A repo on Feast's stock `kind` online store, or on the bulk one (by default with the
    bulk engine too); `store_settings` go to `online_store:`, `settings` to the top level."""
    engine = bulk if bulk_engine is None else bulk_engine
    store = {**online_store(kind, bulk, root), **(store_settings or {})}
    return write_repo(root, project, store, source, engine, **settings)


def push(store: FeatureStore, day: date) -> None:
    store.materialize(*day_bounds(day), feature_views=[VIEW])


def users(count: int = USERS) -> list[dict]:
    return [{"user_id": f"user-{index:08d}"} for index in range(count)]


def read(store: FeatureStore, rows: list[dict] | None = None) -> dict:
    response = store.get_online_features(
        features=store.get_feature_service(SERVICE), entity_rows=rows or users()
    )
    return response.to_dict(include_event_timestamps=True)


def day_values(day: date) -> list[dict]:
    """Each user's features as the SDK returns them after pushing `day`."""
    seed = OLD_SEED if day == OLD_DAY else NEW_SEED
    return [{name: row[name] for name in FEATURES} for row in day_rows(day, seed).to_pylist()]


def day_rows(day: date, seed: int | None = None):
    return feature_rows(USERS, day, seed or (OLD_SEED if day == OLD_DAY else NEW_SEED))


def per_user(response: dict) -> list[dict]:
    return [
        {name: response[name][index] for name in FEATURES}
        for index in range(len(response["user_id"]))
    ]


def states(response: dict) -> list[str]:
    """Per user: "new" or "old" when all its values are one day's, else "mixed"."""
    old, new = day_values(OLD_DAY), day_values(NEW_DAY)
    return [
        "new" if row == new[index] else "old" if row == old[index] else "mixed"
        for index, row in enumerate(per_user(response))
    ]
