"""A batch materialization engine that hands Arrow batches to the online store's bulk path.

Feast's local engine reads the window from the offline store, keeps each entity's latest
row (in pandas), and then (`LocalOutputNode`) turns every cell into a `ValueProto` with
`feast.utils._convert_arrow_to_proto` before calling `online_write_batch`. That conversion
costs more than the write. This engine runs the same plan with two nodes replaced: the
dedup keeps the same rows but works in Arrow and sorts them by entity key, and the output
node gives each batch as Arrow to a store that has `online_write_arrow` (the bulk stores of
this package), which encodes whole columns at once. With any other online store the output
node is Feast's.

    batch_engine:
      type: platform_assets.feature_store.online_stores.engine.BulkMaterializationEngine
      batch_rows: 100000   # rows per write transaction / Redis pipeline (optional)

`materialization: online_write_batch_size`, when set, takes precedence over `batch_rows`.
"""

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from feast.infra.common.materialization_job import MaterializationJobStatus, MaterializationTask
from feast.infra.compute_engines.dag.context import ExecutionContext
from feast.infra.compute_engines.local.arrow_table_value import ArrowTableValue
from feast.infra.compute_engines.local.compute import (
    LocalComputeEngine,
    LocalComputeEngineConfig,
)
from feast.infra.compute_engines.local.feature_builder import LocalFeatureBuilder
from feast.infra.compute_engines.local.job import LocalMaterializationJob
from feast.infra.compute_engines.local.nodes import LocalDedupNode, LocalOutputNode
from feast.infra.registry.base_registry import BaseRegistry
from pydantic import PositiveInt

ENGINE_TYPE = "platform_assets.feature_store.online_stores.engine.BulkMaterializationEngine"
DEFAULT_BATCH_ROWS = 100_000


class BulkMaterializationEngineConfig(LocalComputeEngineConfig):
    type: Literal[ENGINE_TYPE] = ENGINE_TYPE  # type: ignore[assignment]
    batch_rows: PositiveInt = DEFAULT_BATCH_ROWS
    """Rows per online write when `materialization.online_write_batch_size` is not set:
    bounds the memory of one batch and the size of one transaction."""


class ArrowDedupNode(LocalDedupNode):
    """Feast's dedup node (each entity's row with the latest event, then created timestamp)
    done in Arrow instead of pandas. Its result is sorted by the join keys: the order in
    which SQLite's B-tree takes rows fastest (about 4x faster than random order at 1M)."""

    def execute(self, context: ExecutionContext) -> ArrowTableValue:
        table = self.get_single_table(context).data
        keys = self.column_info.join_keys_columns
        if not keys or table.num_rows == 0:
            return super().execute(context)
        order = [(key, "ascending") for key in keys]
        order.append((self.column_info.timestamp_column, "descending"))
        created = self.column_info.created_timestamp_column
        if created and created in table.column_names:
            order.append((created, "descending"))
        table = table.take(pc.sort_indices(table, sort_keys=order))
        output = ArrowTableValue(table.filter(_first_of_each_key(table, keys)))
        context.node_outputs[self.name] = output
        return output


def _first_of_each_key(table: pa.Table, keys: list[str]) -> pa.Array:
    """True for each row whose keys differ from the previous row's (nulls equal nulls, as in
    pandas' drop_duplicates)."""
    rows = table.num_rows
    new = pa.array(np.zeros(rows - 1, dtype=bool))
    for key in keys:
        column = table.column(key).combine_chunks()
        current, previous = column.slice(1), column.slice(0, rows - 1)
        both_null = pc.and_(current.is_null(), previous.is_null())
        differs = pc.fill_null(pc.not_equal(current, previous), True)
        new = pc.or_(new, pc.and_not(differs, both_null))
    return pa.concat_arrays([pa.array([True]), new])


class ArrowOutputNode(LocalOutputNode):
    def __init__(self, name, feature_view, batch_rows: int, inputs=None):
        super().__init__(name, feature_view, inputs=inputs)
        self.batch_rows = batch_rows

    def execute(self, context: ExecutionContext) -> ArrowTableValue:
        store = context.online_store
        if not (self.feature_view.online and hasattr(store, "online_write_arrow")):
            return super().execute(context)
        table = self.get_single_table(context).data
        output = ArrowTableValue(data=table)
        context.node_outputs[self.name] = output
        config = context.repo_config
        rows = config.materialization_config.online_write_batch_size or self.batch_rows
        for batch in table.to_batches(max_chunksize=rows):
            store.online_write_arrow(config, self.feature_view, batch)
        if self.feature_view.offline:
            context.offline_store.offline_write_batch(
                config=config, feature_view=self.feature_view, table=table, progress=None
            )
        return output


class ArrowFeatureBuilder(LocalFeatureBuilder):
    def __init__(self, registry, task, backend, batch_rows: int):
        super().__init__(registry, task, backend)
        self.batch_rows = batch_rows

    def build_dedup_node(self, view, input_node):
        node = ArrowDedupNode("dedup", self.get_column_info(view), self.backend, [input_node])
        self.nodes.append(node)
        return node

    def build_output_nodes(self, view, input_node):
        node = ArrowOutputNode("output", self.dag_root.view, self.batch_rows, inputs=[input_node])
        self.nodes.append(node)
        return node


class BulkMaterializationEngine(LocalComputeEngine):
    """Feast's local engine with `ArrowOutputNode` as the plan's output."""

    def __init__(self, batch_rows: int = DEFAULT_BATCH_ROWS, **kwargs):
        super().__init__(**kwargs)
        self.batch_rows = batch_rows

    def _materialize_one(
        self, registry: BaseRegistry, task: MaterializationTask, **kwargs
    ) -> LocalMaterializationJob:
        job_id = f"{task.feature_view.name}-{task.start_time}-{task.end_time}"
        context = self.get_execution_context(registry, task)
        try:
            builder = ArrowFeatureBuilder(
                registry, task, self._get_backend(context), self.batch_rows
            )
            builder.build().execute(context)
        except Exception as error:  # reported like the local engine: raised by the provider
            return LocalMaterializationJob(job_id, MaterializationJobStatus.ERROR, error)
        return LocalMaterializationJob(job_id, MaterializationJobStatus.SUCCEEDED)
