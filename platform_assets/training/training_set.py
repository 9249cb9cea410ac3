"""The training set: labelled entity rows joined point-in-time with a feature service by Feast.

`build_training_set` is the one way a training set is made, by the Dagster asset and by the
reproduce command alike: the labelled rows of the labels table go to
`FeatureStore.get_historical_features` with the model's `FeatureService` (DuckDB offline
store), while the Delta feature tables are read at pinned versions, so the same recipe gives
the same table later. The result is sorted by `transaction_id` with a fixed schema, and its
content hash (`content_hash`) identifies it.

Entity timestamps must carry a time zone (any offset; they are compared as instants and
returned in UTC). Naive timestamps are refused: the DuckDB offline store reads them in the
session's time zone, so the same frame would give other features on a machine in another zone.

Feast, and the platform's offline store built on it, are imported by the functions that join:
loading the code location must not import them (see `platform_assets.feature_store.repo`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from google.protobuf.message import Message

from platform_assets.environment import s3_options_from_environment
from platform_assets.training.labels import (
    ENTITY_COLUMNS,
    KNOWN_STATUSES,
    LABEL_COLUMNS,
    LABELS_SCHEMA,
)

if TYPE_CHECKING:
    from feast import FeatureService, FeatureStore, FeatureView

FEATURE_SERVICE = "fraud_model_v2"
ROW_KEY = "transaction_id"
LABEL = "label"
LEADING_COLUMNS = (*ENTITY_COLUMNS, LABEL)
"""A training set's columns before the features: the entity frame and the label."""


@dataclass(frozen=True)
class TrainingSetRecipe:
    """Everything a training set is made of; logged with every model so it can be rebuilt."""

    feature_service: str
    label_window: dict
    """`LabelWindow.to_json()`: days, cutoff, maturity."""
    silver_versions: dict[str, int]
    """Delta versions of the silver tables the labels were computed from, by table path."""
    feature_versions: dict[str, int]
    """Delta versions of the feature tables Feast read, by table uri."""
    feature_columns: list[str]
    registry_hash: str
    labels_version: int | None = None
    """Version of the `training/labels` table the asset read (lineage; rebuilt from silver)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainingSetRecipe:
        return cls(**json.loads(text))


def service_feature_views(store: FeatureStore, service: FeatureService) -> list[FeatureView]:
    """The batch feature views a service reads (its on-demand views are computed, not read)."""
    batch_views = {view.name: view for view in store.list_feature_views()}
    return [
        batch_views[projection.name]
        for projection in service.feature_view_projections
        if projection.name in batch_views
    ]


def feature_columns(service: FeatureService) -> list[str]:
    """The service's output feature names, in the service's order."""
    return [
        feature.name
        for projection in service.feature_view_projections
        for feature in projection.features
    ]


def current_feature_versions(store: FeatureStore, service: FeatureService) -> dict[str, int]:
    """The current Delta version of every feature table the service reads, by uri."""
    return {
        view.batch_source.path: DeltaTable(
            view.batch_source.path,
            storage_options=s3_options_from_environment(view.batch_source.path),
        ).version()
        for view in service_feature_views(store, service)
    }


def registry_hash(store: FeatureStore, service: FeatureService) -> str:
    """A hash of the registry objects the service is made of: the service, its views and
    on-demand views, their entities. Bookkeeping (`meta`: registration times) and the pickled
    body of on-demand functions (it holds the checkout's file path; the source text stays)
    are left out, so re-applying the same definitions gives the same hash."""
    specs = [service.to_proto().spec]
    views = {view.name: view for view in store.list_all_feature_views()}
    entities = set()
    for projection in service.feature_view_projections:
        view = views[projection.name]
        specs.append(view.to_proto().spec)
        entities.update(getattr(view, "entities", []) or [])
    specs.extend(store.get_entity(name).to_proto().spec for name in sorted(entities))
    digest = hashlib.sha256()
    for spec in specs:
        digest.update(_without_bookkeeping(spec).SerializeToString(deterministic=True))
    return digest.hexdigest()


def _without_bookkeeping(message: Message) -> Message:
    copy = type(message)()
    copy.CopyFrom(message)
    _clear_bookkeeping(copy)
    return copy


def _clear_bookkeeping(message: Message) -> None:
    for descriptor, value in message.ListFields():
        if descriptor.name in ("meta", "body"):
            message.ClearField(descriptor.name)
        elif descriptor.message_type is None:
            continue
        elif descriptor.message_type.GetOptions().map_entry:
            if descriptor.message_type.fields_by_name["value"].message_type is not None:
                for item in value.values():
                    _clear_bookkeeping(item)
        elif descriptor.is_repeated:
            for item in value:
                _clear_bookkeeping(item)
        else:
            _clear_bookkeeping(value)


def utc_entity_frame(entity_frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with `event_timestamp` (and `transaction_time`) as UTC instants; refuses
    naive timestamps and repeated row keys."""
    frame = entity_frame.copy()
    for column in ("event_timestamp", "transaction_time"):
        if column not in frame:
            continue
        values = pd.to_datetime(frame[column])
        if values.dt.tz is None:
            raise ValueError(
                f"`{column}` has no time zone: give timestamps with an offset (UTC or any "
                "other); naive ones would be read in the machine's time zone"
            )
        frame[column] = values.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    if frame[ROW_KEY].duplicated().any():
        raise ValueError(f"`{ROW_KEY}` must identify each entity row: it has repeated values")
    return frame


def historical_features(
    store: FeatureStore,
    entity_frame: pd.DataFrame,
    service: FeatureService,
    versions: Mapping[str, int],
) -> pa.Table:
    """Feast's point-in-time join of `entity_frame` with the service, the feature tables read
    at `versions` (uri -> Delta version); one row per entity row, sorted by `transaction_id`,
    feature columns typed as the views declare them."""
    from platform_assets.feature_store.offline_store import pinned_versions

    frame = utc_entity_frame(entity_frame)
    with pinned_versions(versions):
        joined = store.get_historical_features(entity_df=frame, features=service).to_arrow()
    return canonical(joined, list(frame.columns), feature_types(store, service))


def feature_types(store: FeatureStore, service: FeatureService) -> dict[str, pa.DataType]:
    from feast.types import from_feast_to_pyarrow_type

    views = {view.name: view for view in store.list_all_feature_views()}
    return {
        feature.name: from_feast_to_pyarrow_type(feature.dtype)
        for projection in service.feature_view_projections
        for feature in views[projection.name].features
    }


def canonical(
    joined: pa.Table, leading: Sequence[str], feature_types: Mapping[str, pa.DataType]
) -> pa.Table:
    """`leading` columns as given, then the features in the given order and types, rows
    sorted by the row key: the same content always gives the same table."""
    columns = {}
    for name in leading:
        column = joined[name]
        if name in LABELS_SCHEMA.names:
            column = column.cast(LABELS_SCHEMA.field(name).type)
        columns[name] = column
    for name, arrow_type in feature_types.items():
        column = joined[name]
        if pa.types.is_floating(column.type) and not pa.types.is_floating(arrow_type):
            # Feast hands integer features with missing values back as floats (NaN)
            column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
        columns[name] = column.cast(arrow_type)
    table = pa.table(columns)
    return table.take(pc.sort_indices(table, [(ROW_KEY, "ascending")]))


def training_entity_frame(labels: pa.Table) -> pd.DataFrame:
    """The labelled rows of a labels table as Feast's entity frame, label included."""
    known = labels.filter(pc.is_in(labels["label_status"], pa.array(KNOWN_STATUSES)))
    return known.select(list(LEADING_COLUMNS)).to_pandas()


def build_training_set(
    store: FeatureStore, labels: pa.Table, recipe: TrainingSetRecipe
) -> pa.Table:
    service = store.get_feature_service(recipe.feature_service)
    return historical_features(
        store, training_entity_frame(labels), service, recipe.feature_versions
    )


def feature_timestamp_violations(
    store: FeatureStore, labels: pa.Table, recipe: TrainingSetRecipe
) -> dict[str, dict[str, int]]:
    """Per feature view: rows whose joined feature row is later than the row (`after_row`)
    or older than the view's TTL (`beyond_ttl`), and rows with no feature row at all
    (`missing`, allowed). The timestamps come from Feast's own point-in-time join, run
    again on the same pinned tables."""
    from platform_assets.feature_store.offline_store import (
        FEATURE_ROW_TIMESTAMP,
        joined_feature_timestamps,
        pinned_versions,
    )

    service = store.get_feature_service(recipe.feature_service)
    frame = utc_entity_frame(training_entity_frame(labels))
    views = service_feature_views(store, service)
    with pinned_versions(recipe.feature_versions):
        stamps = joined_feature_timestamps(store, views, frame).to_pandas().set_index(ROW_KEY)
    row_times = frame.set_index(ROW_KEY)["event_timestamp"]
    results = {}
    for view in views:
        joined = stamps[f"{view.name}__{FEATURE_ROW_TIMESTAMP}"].reindex(row_times.index)
        results[view.name] = {
            "after_row": int((joined > row_times).sum()),
            "beyond_ttl": int((joined < row_times - view.ttl).sum()) if view.ttl else 0,
            "missing": int(joined.isna().sum()),
        }
    return results


def label_leaks(training_set: pa.Table, recipe: TrainingSetRecipe) -> list[str]:
    """Ways label information could reach the features: a label column among the feature
    names, or a feature column equal to the label."""
    problems = [
        f"feature `{name}` is a label column"
        for name in recipe.feature_columns
        if name in LABEL_COLUMNS
    ]
    label = training_set[LABEL].cast(pa.float64())
    for name in recipe.feature_columns:
        values = training_set[name]
        if not pa.types.is_floating(values.type) and not pa.types.is_integer(values.type):
            continue
        if training_set.num_rows and values.cast(pa.float64()).equals(label):
            problems.append(f"feature `{name}` equals the label")
    return problems


def content_hash(table: pa.Table) -> str:
    """SHA-256 of the table's content, independent of chunking and of the bytes Arrow keeps
    under null values: column names and types in order, then per column its validity and its
    values in a fixed binary form. Tables are sorted by their row key before hashing."""
    digest = hashlib.sha256()
    for name in table.column_names:
        column = table[name].combine_chunks()
        digest.update(f"{name}\0{_type_name(column.type)}\0".encode())
        digest.update(np.packbits(pc.is_valid(column).to_numpy(zero_copy_only=False)).tobytes())
        digest.update(_value_bytes(column))
    return digest.hexdigest()


def _type_name(arrow_type: pa.DataType) -> str:
    """The type as hashed: Delta hands strings back as large or view strings."""
    if any(test(arrow_type) for test in (pa.types.is_large_string, pa.types.is_string_view)):
        return "string"
    return str(arrow_type)


def _value_bytes(column: pa.Array) -> bytes:
    arrow_type = column.type
    if pa.types.is_floating(arrow_type):
        values = pc.fill_null(column.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        # one bit pattern per value: +0.0 for -0.0, a single NaN
        values = np.where(values == 0, 0.0, values)
        values[np.isnan(values)] = np.nan
        return values.tobytes()
    if pa.types.is_timestamp(arrow_type):
        column = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    if pa.types.is_integer(column.type) or pa.types.is_boolean(column.type):
        return pc.fill_null(column.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).tobytes()
    texts = column.cast(pa.string()).to_pylist()
    return b"".join(
        len(encoded).to_bytes(8, "little") + encoded
        for encoded in ((text or "").encode() for text in texts)
    )
