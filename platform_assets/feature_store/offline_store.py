"""Feast's DuckDB offline store, reading Delta tables through the deltalake package.

Feast's own DuckDB store reads a Delta source with `ibis.read_delta`, which makes DuckDB
download its `delta` extension: impossible here (no network at run time). This store is the
same store with one change: a Delta source is opened with deltalake (the current snapshot,
so files Delta has removed are never read) and handed to DuckDB as an Arrow dataset, which
DuckDB scans lazily with filter and projection push-down. Every other source is read as
Feast reads it. Configured in feature_store.yaml as
`offline_store: {type: platform_assets.feature_store.offline_store.DeltaDuckDBOfflineStore}`.

A training set must be rebuildable bit for bit later, so reads can be pinned to Delta
versions: inside `with pinned_versions({uri: version})`, a source at `uri` is read at that
version instead of the current snapshot (time travel).
"""

import copy
import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import ibis
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable
from feast import FeatureStore, FeatureView, Field
from feast.data_format import DeltaFormat
from feast.data_source import DataSource
from feast.infra.offline_stores import duckdb as feast_duckdb
from feast.infra.offline_stores import ibis as feast_ibis
from feast.infra.offline_stores.file_source import FileSource
from feast.repo_config import RepoConfig
from feast.types import UnixTimestamp

from platform_assets.environment import s3_options_from_environment

_dataset_names = itertools.count()
_pinned: ContextVar[Mapping[str, int] | None] = ContextVar("pinned_delta_versions", default=None)


def _normalized(uri: str) -> str:
    return uri.rstrip("/")


@contextmanager
def pinned_versions(versions: Mapping[str, int]) -> Iterator[None]:
    """Read the Delta sources at these uris at these versions while the block runs."""
    token = _pinned.set({_normalized(uri): version for uri, version in versions.items()})
    try:
        yield
    finally:
        _pinned.reset(token)


def read_data_source(data_source: DataSource, repo_path: str) -> ibis.Table:
    if isinstance(data_source, FileSource) and isinstance(data_source.file_format, DeltaFormat):
        options = s3_options_from_environment(data_source.path)
        version = (_pinned.get() or {}).get(_normalized(data_source.path))
        dataset = DeltaTable(
            data_source.path, version=version, storage_options=options
        ).to_pyarrow_dataset()
        backend = ibis.get_backend()
        name = f"feast_delta_{next(_dataset_names)}"
        backend.con.register(name, dataset)
        return backend.table(name)
    return _read_with_feast(data_source, repo_path)


_read_with_feast = feast_duckdb._read_data_source


class DeltaDuckDBOfflineStoreConfig(feast_duckdb.DuckDBOfflineStoreConfig):
    type: str = "platform_assets.feature_store.offline_store.DeltaDuckDBOfflineStore"


def _store_options(config: RepoConfig) -> dict:
    return {
        "data_source_reader": read_data_source,
        "data_source_writer": feast_duckdb._write_data_source,
        "staging_location": config.offline_store.staging_location,
        "staging_location_endpoint_override": (
            config.offline_store.staging_location_endpoint_override
        ),
    }


class DeltaDuckDBOfflineStore(feast_duckdb.DuckDBOfflineStore):
    """Feast's DuckDB offline store whose Delta sources are read without DuckDB extensions."""

    @staticmethod
    def pull_latest_from_table_or_query(config: RepoConfig, data_source: DataSource, **kwargs):
        return feast_ibis.pull_latest_from_table_or_query_ibis(
            config=config, data_source=data_source, **kwargs, **_store_options(config)
        )

    @staticmethod
    def pull_all_from_table_or_query(config: RepoConfig, data_source: DataSource, **kwargs):
        return feast_ibis.pull_all_from_table_or_query_ibis(
            config=config, data_source=data_source, **kwargs, **_store_options(config)
        )

    @staticmethod
    def get_historical_features(config: RepoConfig, feature_views, **kwargs):
        return feast_ibis.get_historical_features_ibis(
            config=config, feature_views=feature_views, **kwargs, **_store_options(config)
        )


FEATURE_ROW_TIMESTAMP = "feature_row_timestamp"


def joined_feature_timestamps(
    store: FeatureStore, views: Sequence[FeatureView], entity_df: pd.DataFrame
) -> pa.Table:
    """The entity frame with, per view, the `event_timestamp` of the feature row Feast's
    point-in-time join picks for each entity row (null if none), as column
    `<view>__feature_row_timestamp`.

    Feast returns feature values, not the time of the row they came from. This runs Feast's
    own join again (same TTL, same tie-break, same reader and pinned versions) on copies of the
    views whose only feature is the source's timestamp, exposed under another name.
    """
    probes = []
    for view in views:
        probe = copy.copy(view)
        probe.features = [Field(name=FEATURE_ROW_TIMESTAMP, dtype=UnixTimestamp)]
        probe.projection.features = probe.features
        probes.append(probe)

    def read_with_timestamp(data_source: DataSource, repo_path: str) -> ibis.Table:
        table = read_data_source(data_source, repo_path)
        return table.mutate(**{FEATURE_ROW_TIMESTAMP: table[data_source.timestamp_field]})

    job = feast_ibis.get_historical_features_ibis(
        config=store.config,
        feature_views=probes,
        feature_refs=[f"{view.name}:{FEATURE_ROW_TIMESTAMP}" for view in views],
        entity_df=entity_df,
        registry=store.registry,
        project=store.project,
        full_feature_names=True,
        **{**_store_options(store.config), "data_source_reader": read_with_timestamp},
    )
    return job.to_arrow()
