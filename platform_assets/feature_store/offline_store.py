"""Feast's DuckDB offline store, reading Delta tables through the deltalake package.

Feast's own DuckDB store reads a Delta source with `ibis.read_delta`, which makes DuckDB
download its `delta` extension: impossible here (no network at run time). This store is the
same store with one change: a Delta source is opened with deltalake (the current snapshot,
so files Delta has removed are never read) and handed to DuckDB as an Arrow dataset, which
DuckDB scans lazily with filter and projection push-down. Every other source is read as
Feast reads it. Configured in feature_store.yaml as
`offline_store: {type: platform_assets.feature_store.offline_store.DeltaDuckDBOfflineStore}`.
"""

import itertools

import ibis
from deltalake import DeltaTable
from feast.data_format import DeltaFormat
from feast.data_source import DataSource
from feast.infra.offline_stores import duckdb as feast_duckdb
from feast.infra.offline_stores import ibis as feast_ibis
from feast.infra.offline_stores.file_source import FileSource
from feast.repo_config import RepoConfig

from platform_assets.environment import s3_options_from_environment

_dataset_names = itertools.count()


def read_data_source(data_source: DataSource, repo_path: str) -> ibis.Table:
    if isinstance(data_source, FileSource) and isinstance(data_source.file_format, DeltaFormat):
        options = s3_options_from_environment(data_source.path)
        dataset = DeltaTable(data_source.path, storage_options=options).to_pyarrow_dataset()
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
