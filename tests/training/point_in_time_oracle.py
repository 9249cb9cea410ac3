"""Brute-force point-in-time join, plain Python over the feature-table rows: no Feast, no
DuckDB, no pandas merge. What it implements is Feast's documented rule:

for an entity row at time `t` and a view with TTL `ttl`, take the entity's feature rows with
`t - ttl <= event_timestamp <= t` (both ends included), keep those with the latest
`event_timestamp`, among them those with the latest `created_timestamp`. If several rows
still tie, Feast does not say which one it takes: each of them is an acceptable answer. No
row: every feature is missing.

The request-time features of `transaction_context` are recomputed from their definition
(feature_repo/on_demand_views.py) with the `math` module.
"""

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from platform_assets.features.compute import MERCHANT_FEATURE_COLUMNS, USER_FEATURE_COLUMNS

VIEWS = {
    # view: (entity column, features, ttl): as declared in feature_repo/feature_views.py
    "user_features": ("user_id", USER_FEATURE_COLUMNS, timedelta(days=7)),
    "merchant_features": ("merchant_id", MERCHANT_FEATURE_COLUMNS, timedelta(days=30)),
}
ON_DEMAND = ("amount_to_user_mean_7d", "hour_sin", "hour_cos")
COMPUTED_TOLERANCE = 1e-12


def rows_by_entity(table: pa.Table, entity: str) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for row in table.to_pylist():
        grouped[row[entity]].append(row)
    return grouped


def acceptable_rows(rows: list[dict], at: datetime, ttl: timedelta) -> list[dict]:
    """The feature rows Feast may join to an entity row at `at` (empty: none)."""
    inside = [row for row in rows if at - ttl <= row["event_timestamp"] <= at]
    if not inside:
        return []
    latest = max(row["event_timestamp"] for row in inside)
    inside = [row for row in inside if row["event_timestamp"] == latest]
    newest = max(row["created_timestamp"] for row in inside)
    return [row for row in inside if row["created_timestamp"] == newest]


def request_features(amount: float, mean: float | None, when: datetime) -> dict:
    when = when.astimezone(UTC)
    seconds = (when - when.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    angle = 2 * math.pi * seconds / (24 * 3600)
    return {
        "amount_to_user_mean_7d": amount / mean if mean is not None and mean > 0 else None,
        "hour_sin": math.sin(angle),
        "hour_cos": math.cos(angle),
    }


def _same(got, want, tolerance: float) -> bool:
    got_missing = got is None or (isinstance(got, float) and math.isnan(got))
    want_missing = want is None or (isinstance(want, float) and math.isnan(want))
    if got_missing or want_missing:
        return got_missing and want_missing
    if tolerance:
        return math.isclose(got, want, rel_tol=tolerance, abs_tol=tolerance)
    return got == want


def mismatches(
    entity_rows: list[dict], feature_tables: dict[str, pa.Table], training_rows: list[dict]
) -> list[str]:
    """Every value of `training_rows` (the platform's output, by transaction_id) that the
    brute-force join does not allow; also entity rows missing from the output."""
    output = {row["transaction_id"]: row for row in training_rows}
    grouped = {
        view: rows_by_entity(feature_tables[view], entity) for view, (entity, _, _) in VIEWS.items()
    }
    problems = []
    if len(output) != len(training_rows) or set(output) != {
        row["transaction_id"] for row in entity_rows
    }:
        problems.append("output rows are not the entity rows, one each")
    for entity_row in entity_rows:
        key = entity_row["transaction_id"]
        got = output.get(key)
        if got is None:
            continue
        at = entity_row["event_timestamp"]
        user_mean_options = []
        for view, (entity, features, ttl) in VIEWS.items():
            candidates = acceptable_rows(grouped[view].get(entity_row[entity], []), at, ttl)
            options = [{name: row[name] for name in features} for row in candidates] or [
                dict.fromkeys(features)
            ]
            if not any(
                all(_same(got[name], option[name], 0.0) for name in features) for option in options
            ):
                problems.append(f"{key} {view}: got {[got[n] for n in features]}, want {options}")
            if view == "user_features":
                user_mean_options = [option["user_amount_mean_7d"] for option in options]
        expected_request = [
            request_features(entity_row["amount"], mean, entity_row["transaction_time"])
            for mean in user_mean_options
        ]
        if not any(
            all(_same(got[name], want[name], COMPUTED_TOLERANCE) for name in ON_DEMAND)
            for want in expected_request
        ):
            problems.append(f"{key} transaction_context: got {[got[n] for n in ON_DEMAND]}")
    return problems
