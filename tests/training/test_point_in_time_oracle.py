"""The training set's features against a brute-force point-in-time join, on random entity
frames with ties, rows at the TTL edges, late rows and timestamps in several time zones."""

import random

import pytest

from platform_assets.feature_store.offline_store import (
    FEATURE_ROW_TIMESTAMP,
    joined_feature_timestamps,
    pinned_versions,
)
from platform_assets.feature_store.registry import apply_definitions, load_definitions
from platform_assets.feature_store.repo import FEATURE_REPO
from platform_assets.training.training_set import historical_features, registry_hash
from tests.training.point_in_time_oracle import (
    VIEWS,
    acceptable_rows,
    mismatches,
    rows_by_entity,
)
from tests.training.synthetic_features import entity_frame, random_entity_rows

ZONES = ["UTC", "Etc/GMT-2", "America/New_York"]  # Etc/GMT-2 is +02:00


def version_zero(synthetic_store) -> dict[str, int]:
    return {synthetic_store.uri(view): 0 for view in synthetic_store.tables}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("zone", ZONES)
def test_features_equal_the_brute_force_join(synthetic_store, seed, zone):
    rows = random_entity_rows(synthetic_store.tables, 150, random.Random(seed))
    service = synthetic_store.store.get_feature_service("fraud_model_v2")
    joined = historical_features(
        synthetic_store.store, entity_frame(rows, zone), service, version_zero(synthetic_store)
    )
    assert joined.num_rows == len(rows)
    assert mismatches(rows, synthetic_store.tables, joined.to_pylist()) == []


def test_the_frames_exercise_every_case(synthetic_store):
    """The random frames above do hit ties, TTL edges, late rows and unknown entities."""
    rows = [
        row
        for seed in (1, 2, 3)
        for row in random_entity_rows(synthetic_store.tables, 150, random.Random(seed))
    ]
    users = rows_by_entity(synthetic_store.tables["user_features"], "user_id")
    ttl = VIEWS["user_features"][2]
    picks = [
        acceptable_rows(users.get(row["user_id"], []), row["event_timestamp"], ttl) for row in rows
    ]
    assert sum(len(pick) > 1 for pick in picks) > 0, "no full tie"
    assert (
        sum(
            any(row["event_timestamp"] - ttl == p["event_timestamp"] for p in pick)
            for row, pick in zip(rows, picks, strict=True)
        )
        > 0
    ), "no row exactly at the TTL edge"
    assert sum(not pick for pick in picks) > 10, "no row without features"
    assert any(row["transaction_id"].endswith("twin") for row in rows)


def test_reads_are_pinned_to_the_given_versions(synthetic_store):
    rows = random_entity_rows(synthetic_store.tables, 60, random.Random(7))
    service = synthetic_store.store.get_feature_service("fraud_model_v2")
    frame = entity_frame(rows, "UTC")
    pinned = historical_features(
        synthetic_store.store, frame, service, version_zero(synthetic_store)
    )
    current = historical_features(synthetic_store.store, frame, service, {})
    assert mismatches(rows, synthetic_store.tables, pinned.to_pylist()) == []
    assert mismatches(rows, synthetic_store.tables, current.to_pylist()) != []


def test_naive_timestamps_are_refused(synthetic_store):
    rows = random_entity_rows(synthetic_store.tables, 5, random.Random(5))
    frame = entity_frame(rows, "UTC")
    frame["event_timestamp"] = frame["event_timestamp"].dt.tz_localize(None)
    service = synthetic_store.store.get_feature_service("fraud_model_v2")
    with pytest.raises(ValueError, match="no time zone"):
        historical_features(synthetic_store.store, frame, service, {})


def test_registry_hash_survives_a_re_apply(synthetic_store):
    store = synthetic_store.store
    before = registry_hash(store, store.get_feature_service("fraud_model_v2"))
    apply_definitions(store, load_definitions(FEATURE_REPO))
    after = registry_hash(store, store.get_feature_service("fraud_model_v2"))
    assert before == after
    assert before != registry_hash(store, store.get_feature_service("fraud_model_v1"))


def test_feature_row_timestamps_are_those_of_the_brute_force_rows(synthetic_store):
    """The probe behind the `features_not_after_row` check reports, per view, the time of
    the row the brute-force join picks (tied rows share it), or nothing."""
    store = synthetic_store.store
    rows = random_entity_rows(synthetic_store.tables, 120, random.Random(11))
    views = [store.get_feature_view(view) for view in VIEWS]
    with pinned_versions(version_zero(synthetic_store)):
        probed = joined_feature_timestamps(store, views, entity_frame(rows, "Etc/GMT-2"))
    probed = {row["transaction_id"]: row for row in probed.to_pylist()}
    for view, (entity, _, ttl) in VIEWS.items():
        grouped = rows_by_entity(synthetic_store.tables[view], entity)
        for row in rows:
            picks = acceptable_rows(grouped.get(row[entity], []), row["event_timestamp"], ttl)
            want = picks[0]["event_timestamp"] if picks else None
            assert probed[row["transaction_id"]][f"{view}__{FEATURE_ROW_TIMESTAMP}"] == want
