"""The platform contender: the training-set asset's own code, minus Dagster and the write.

`training_set` (platform_assets/training/assets.py) opens the store through `FeastResource`,
pins the feature tables to their current Delta versions (`current_feature_versions`) and
calls `build_training_set`: the labelled rows as Feast's entity frame,
`FeatureStore.get_historical_features` with the `fraud_model_v2` FeatureService through the
platform's DuckDB-over-Delta offline store, and `canonical` (types, sort by row key). This
contender calls exactly those functions. The asset then runs Feast's join a second time for
its blocking leakage check (`feature_timestamp_violations`): `run_with_probe` adds that.
"""

import time
from pathlib import Path

from benchmarks.training_set import output, repo
from benchmarks.training_set.data import read_labels
from platform_assets.training.training_set import (
    FEATURE_SERVICE,
    TrainingSetRecipe,
    build_training_set,
    current_feature_versions,
    feature_columns,
    feature_timestamp_violations,
)


def run(data: Path, day, out: Path, probe: bool = False) -> dict:
    stages = {}
    started = time.perf_counter()
    store = repo.open_store(repo.copy_registry(data, repo.PLATFORM, out), repo.PLATFORM)
    labels = read_labels(data)
    service = store.get_feature_service(FEATURE_SERVICE)
    recipe = TrainingSetRecipe(
        feature_service=FEATURE_SERVICE,
        label_window={},
        silver_versions={},
        feature_versions=current_feature_versions(store, service),
        feature_columns=feature_columns(service),
        registry_hash="",
    )
    stages["open store, read labels"] = time.perf_counter() - started
    started = time.perf_counter()
    rows = build_training_set(store, labels, recipe)
    stages["build_training_set"] = time.perf_counter() - started
    counts = {"entity_rows": labels.num_rows, "output_rows": rows.num_rows}
    if probe:
        started = time.perf_counter()
        violations = feature_timestamp_violations(store, labels, recipe)
        stages["leakage probe (second Feast join)"] = time.perf_counter() - started
        counts["probe"] = violations
    output.keep(rows, out)
    return {**counts, "stages": stages}


def run_with_probe(data: Path, day, out: Path) -> dict:
    return run(data, day, out, probe=True)
