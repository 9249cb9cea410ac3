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

Historical retrieval runs Feast's point-in-time rule as DuckDB `ASOF LEFT JOIN`s
(`asof_historical_features`) instead of Feast's ibis plan, which joins every entity row with
every feature row of its entity inside the TTL and then ranks them with a window: at 1M
entity rows and 10k merchants with 300 rows each that is hundreds of millions of pairs
(docs/benchmarks.md, workload 4). The rule is Feast's: per view, the entity's latest row
with `event_timestamp` at or before the entity row's, ties broken by the later created
timestamp, nothing (nulls, the entity row kept) when that row is older than the view's TTL.
On-demand views, the retrieval job and its outputs stay Feast's. Entity frames given as SQL
and `filter_by_created_timestamp` go to Feast's own plan.
"""

import copy
import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable
from feast import FeatureStore, FeatureView, Field
from feast.data_format import DeltaFormat
from feast.data_source import DataSource
from feast.infra.offline_stores import duckdb as feast_duckdb
from feast.infra.offline_stores import ibis as feast_ibis
from feast.infra.offline_stores import offline_utils
from feast.infra.offline_stores.file_source import FileSource
from feast.infra.offline_stores.offline_store import RetrievalMetadata
from feast.on_demand_feature_view import OnDemandFeatureView
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


_ASOF = "__feast_asof"
_FEATURE_TIME = "__feast_feature_time"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _feature_view_query(
    feature_view: FeatureView,
    feature_refs: Sequence[str],
    full_feature_names: bool,
    data_source_reader,
    repo_path: str,
) -> tuple[ibis.Table, dict[str, str], list[str]]:
    """The view's rows as Feast's plan reads them (reader, field mapping, UTC timestamps,
    full feature names), with its join keys, the feature row's time and the ASOF key
    `{t: event time, c: created time}` (a missing created time sorts first, as in Feast's
    `order by created desc nulls last`). Returns the table, the join key map (feature-table
    column -> entity column) and the output feature columns."""
    source = feature_view.batch_source
    table: ibis.Table = data_source_reader(source, repo_path)
    for old_name, new_name in source.field_mapping.items():
        if old_name in table.columns:
            table = table.rename({new_name: old_name})
    timestamp = table[source.timestamp_field].cast(dt.Timestamp(timezone="UTC"))
    created_column = source.created_timestamp_column
    created = (
        table[created_column].cast(dt.Timestamp(timezone="UTC"))
        if created_column
        else ibis.null(dt.Timestamp(timezone="UTC"))
    )
    prefix = feature_view.projection.name_to_use()
    names = [ref.split(":")[1] for ref in feature_refs if ref.startswith(f"{prefix}:")]
    base = feature_view.projection.name_alias or feature_view.name
    outputs = {f"{base}__{name}" if full_feature_names else name: name for name in names}
    join_keys = feature_view.projection.join_key_map or {
        column.name: column.name for column in feature_view.entity_columns
    }
    table = table.select(
        *(table[key] for key in join_keys),
        **{_FEATURE_TIME: timestamp},
        **{
            _ASOF: ibis.struct(
                {
                    "t": timestamp,
                    "c": created.fill_null(
                        ibis.literal("-infinity").cast(dt.Timestamp(timezone="UTC"))
                    ),
                }
            )
        },
        **{output: table[name] for output, name in outputs.items()},
    )
    return table, join_keys, list(outputs)


def asof_historical_features(
    config: RepoConfig,
    feature_views: Sequence[FeatureView],
    feature_refs: Sequence[str],
    entity_df: pd.DataFrame,
    registry,
    project: str,
    full_feature_names: bool = False,
    data_source_reader=None,
) -> feast_ibis.IbisRetrievalJob:
    """Feast's `get_historical_features_ibis` with the point-in-time join done by
    `ASOF LEFT JOIN`s: same inputs, same output columns (the entity frame's, then each view's
    features), same on-demand handling; one output row per entity row."""
    data_source_reader = data_source_reader or read_data_source
    entity_schema = feast_ibis._get_entity_schema(entity_df=entity_df)
    event_timestamp = offline_utils.infer_event_timestamp_from_entity_df(entity_schema)
    timestamp_range = feast_ibis._get_entity_df_event_timestamp_range(entity_df, event_timestamp)
    entity_df = feast_ibis._to_utc(entity_df.copy(), event_timestamp)
    backend = ibis.get_backend()
    entities = f"feast_entities_{next(_dataset_names)}"
    backend.con.register(entities, pa.Table.from_pandas(entity_df, preserve_index=False))
    entity_time = f"entities.{_quoted(event_timestamp)}::timestamptz"

    views, joins, selected = [], [], []
    for index, feature_view in enumerate(feature_views):
        table, join_keys, outputs = _feature_view_query(
            feature_view,
            feature_refs,
            full_feature_names,
            data_source_reader,
            str(config.repo_path),
        )
        name = f"feast_view_{next(_dataset_names)}"
        backend.create_view(name, table, overwrite=True)
        alias = f"view_{index}"
        views.append(name)
        on = [
            f"{alias}.{_quoted(key)} = entities.{_quoted(entity_key)}"
            for key, entity_key in join_keys.items()
        ]
        on.append(f"entities.{_ASOF} >= {alias}.{_ASOF}")
        joins.append(f"asof left join {name} as {alias} on {' and '.join(on)}")
        fresh = f"{alias}.{_FEATURE_TIME} is not null"
        if feature_view.ttl and feature_view.ttl.total_seconds() != 0:
            micros = int(feature_view.ttl / timedelta(microseconds=1))
            fresh = f"{alias}.{_FEATURE_TIME} >= {entity_time} - to_microseconds({micros})"
        selected += [
            f"case when {fresh} then {alias}.{_quoted(output)} end as {_quoted(output)}"
            for output in outputs
        ]
    columns = ", ".join(f"entities.{_quoted(column)}" for column in entity_df.columns)
    query = (
        f"select {', '.join([columns, *selected])} from ("
        f"select *, {{'t': {_quoted(event_timestamp)}::timestamptz, "
        f"'c': 'infinity'::timestamptz}} as {_ASOF} from {entities}) as entities " + " ".join(joins)
    )
    result = backend.sql(query)

    odfvs = OnDemandFeatureView.get_requested_odfvs(list(feature_refs), project, registry)
    for odfv in odfvs:
        if odfv.mode == "substrait":
            result = odfv.transform_ibis(result, full_feature_names)
    return feast_ibis.IbisRetrievalJob(
        result,
        [odfv for odfv in odfvs if odfv.mode != "substrait"],
        full_feature_names,
        metadata=RetrievalMetadata(
            features=list(feature_refs),
            keys=list(set(entity_df.columns) - {event_timestamp}),
            min_event_timestamp=timestamp_range[0],
            max_event_timestamp=timestamp_range[1],
        ),
        data_source_writer=feast_duckdb._write_data_source,
        staging_location=config.offline_store.staging_location,
        staging_location_endpoint_override=(
            config.offline_store.staging_location_endpoint_override
        ),
        repo_path=str(config.repo_path),
    )


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
        entity_df = kwargs.get("entity_df")
        if isinstance(entity_df, pd.DataFrame) and not kwargs.get("filter_by_created_timestamp"):
            kwargs.pop("filter_by_created_timestamp", None)
            return asof_historical_features(config=config, feature_views=feature_views, **kwargs)
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

    Feast returns feature values, not the time of the row they came from. This runs the store's
    join again (same TTL, same tie-break, same reader and pinned versions) on copies of the
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

    job = asof_historical_features(
        config=store.config,
        feature_views=probes,
        feature_refs=[f"{view.name}:{FEATURE_ROW_TIMESTAMP}" for view in views],
        entity_df=entity_df,
        registry=store.registry,
        project=store.project,
        full_feature_names=True,
        data_source_reader=read_with_timestamp,
    )
    return job.to_arrow()
