"""Feast's file (dask) offline store, as a user would configure it (`offline_store: file`).

Same registry definitions, same Delta tables (read by dask as the Parquet files under each
table's folder: see `benchmarks.training_set.repo`), same entity frame as the platform's
(`training_entity_frame` + `utc_entity_frame`), same FeatureService. Feast's result goes
through the platform's `canonical` (declared types, sorted by row key), so the tables
compare column for column; Feast hands integer features with missing values back as floats.

One concession: Feast 0.67's file store fails outright (dask: "Divisions calculation failed
for non-numeric column 'created_timestamp' ... presence of nulls") when an entity row's user
or merchant has no feature row at all, the left merge's nulls reaching dask's sort. So this
contender gets the entity rows without those (7% of the rows: the generator's new users and
new merchants, recognised by their ids); the verification counts them as missing rows.
"""

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.training_set import output, repo
from benchmarks.training_set.data import read_labels
from platform_assets.training.training_set import (
    FEATURE_SERVICE,
    canonical,
    feature_types,
    training_entity_frame,
    utc_entity_frame,
)


def run(data: Path, day, out: Path) -> dict:
    stages = {}
    started = time.perf_counter()
    store = repo.open_store(repo.copy_registry(data, repo.FILE, out), repo.FILE)
    labels = without_unknown_entities(read_labels(data))
    frame = utc_entity_frame(training_entity_frame(labels))
    service = store.get_feature_service(FEATURE_SERVICE)
    stages["open store, read labels"] = time.perf_counter() - started
    started = time.perf_counter()
    joined = store.get_historical_features(entity_df=frame, features=service).to_arrow()
    stages["get_historical_features"] = time.perf_counter() - started
    started = time.perf_counter()
    rows = canonical(joined, list(frame.columns), feature_types(store, service))
    stages["types + sort"] = time.perf_counter() - started
    output.keep(rows, out)
    return {"entity_rows": labels.num_rows, "output_rows": rows.num_rows, "stages": stages}


def without_unknown_entities(labels: pa.Table) -> pa.Table:
    unknown = pc.or_(
        pc.starts_with(labels["user_id"], "u-new-"), pc.starts_with(labels["merchant_id"], "m-new-")
    )
    return labels.filter(pc.invert(unknown))
