"""A Redis online store that writes large pipelines and guards every entity atomically.

Layout: exactly Feast's (docs/specs/online_store_format.md): one hash per entity key
(`serialize_entity_key(...) + project`), a field `mmh3("<view>:<feature>")` per feature
holding `ValueProto` bytes, and `_ts:<view>` holding the event time as a serialized
`google.protobuf.Timestamp`. Reads are Feast's own, so stock and bulk stores can share keys.

The guard: Feast's stock store reads every `_ts:<view>` of a batch in one pipeline and
writes the newer rows in a second one. Between the two another writer can slip in, and an
equal timestamp is skipped. Here each entity is one `EVALSHA` of a small Lua script that
compares the stored `_ts:<view>` (seconds, then nanos) with the incoming one and writes
only if the incoming one is not older, in one atomic step on the server. An equal
timestamp overwrites, so a retried push is idempotent. A push that fails midway leaves
every entity either as it was or fully written (Redis runs a script whole).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from feast import FeatureView, RepoConfig
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import _mmh3
from feast.infra.online_stores.redis import (
    RedisOnlineStore,
    RedisOnlineStoreConfig,
    _versioned_fv_name,
)
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from pydantic import PositiveInt
from redis import Redis
from redis.cluster import RedisCluster

from platform_assets.feature_store.online_stores.encoding import (
    ENTITY_KEY_SERIALIZATION_VERSION,
    datetime_micros,
    entity_keys,
    feature_columns,
    join_key_types,
    resp_commands,
    timestamp_micros,
    timestamp_proto_bytes,
)

STORE_TYPE = "platform_assets.feature_store.online_stores.redis.BulkRedisOnlineStore"
_MICROS = 1_000_000

# KEYS[1]: the entity's hash. ARGV: the `_ts:<view>` field, the new Timestamp bytes, its
# seconds and nanos, the TTL in seconds (0: none), then feature field/value pairs.
GUARDED_WRITE = """
local function timestamp(bytes)
  local seconds, nanos, position = 0, 0, 1
  while position <= #bytes do
    local tag = string.byte(bytes, position)
    local value, scale = 0, 1
    repeat
      position = position + 1
      local byte = string.byte(bytes, position)
      value = value + (byte % 128) * scale
      scale = scale * 128
    until byte < 128
    position = position + 1
    if tag == 8 then seconds = value elseif tag == 16 then nanos = value end
  end
  return seconds, nanos
end
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored then
  local seconds, nanos = timestamp(stored)
  local new_seconds, new_nanos = tonumber(ARGV[3]), tonumber(ARGV[4])
  if new_seconds < seconds or (new_seconds == seconds and new_nanos < nanos) then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], unpack(ARGV, 6))
if tonumber(ARGV[5]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[5]) end
return 1
"""


class BulkRedisOnlineStoreConfig(RedisOnlineStoreConfig):
    """`online_store: {type: <STORE_TYPE>, connection_string: ...}` in feature_store.yaml."""

    type: Literal[STORE_TYPE] = STORE_TYPE  # type: ignore[assignment]
    pipeline_rows: PositiveInt = 10_000
    """Entities per pipeline round trip."""


class BulkRedisOnlineStore(RedisOnlineStore):
    """Feast's Redis online store with an atomic, guarded, pipelined write path."""

    def write_columns(
        self,
        config: RepoConfig,
        view: FeatureView,
        keys: pa.Array,
        features: dict[str, pa.Array],
        event_micros: np.ndarray,
    ) -> int:
        """Write rows given column-wise (serialized entity keys, each feature's ValueProto
        bytes, event times); returns how many entities were written, i.e. were not older
        than what was stored."""
        store_config = config.online_store
        client = self._get_client(store_config)
        if isinstance(client, RedisCluster):
            raise NotImplementedError(
                f"{type(self).__name__} writes to one Redis server (or a Sentinel's master); "
                "use Feast's `redis` store for a Redis Cluster"
            )
        # Loaded per call (one round trip): a restarted server has forgotten its scripts.
        sha = client.script_load(GUARDED_WRITE).encode()
        name = _versioned_fv_name(view, config)
        project, glue = (pa.scalar(b, pa.large_binary()) for b in (config.project.encode(), b""))
        seconds, remainder = np.divmod(event_micros, _MICROS)
        commands = resp_commands(
            [
                b"EVALSHA",
                sha,
                b"1",
                pc.binary_join_element_wise(keys.cast(pa.large_binary()), project, glue),
                f"_ts:{name}".encode(),
                timestamp_proto_bytes(event_micros),
                pc.cast(pa.array(seconds), pa.string()),
                pc.cast(pa.array(remainder * 1_000), pa.string()),
                str(store_config.key_ttl_seconds or 0).encode(),
                *(
                    part
                    for feature, values in features.items()
                    for part in (_mmh3(f"{name}:{feature}"), values)
                ),
            ],
            len(keys),
        )
        step = store_config.pipeline_rows
        return sum(
            sum(send_packed(client, commands[start : start + step]))
            for start in range(0, len(commands), step)
        )

    def online_write_arrow(
        self, config: RepoConfig, view: FeatureView, table: pa.Table | pa.RecordBatch
    ) -> None:
        """The bulk path of `BulkMaterializationEngine`: a batch as Arrow, encoded by column."""
        self.write_columns(
            config,
            view,
            pa.array(entity_keys(table, join_key_types(view)), pa.large_binary()),
            feature_columns(table, view),
            timestamp_micros(table.column(view.batch_source.timestamp_field)),
        )

    def online_write_batch(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: list[tuple[EntityKeyProto, dict[str, ValueProto], datetime, datetime | None]],
        progress: Callable[[int], Any] | None,
    ) -> None:
        keys = [serialize_entity_key(key, ENTITY_KEY_SERIALIZATION_VERSION) for key, *_ in data]
        features = {
            # A feature missing from a row is written as the empty Value, as a null is.
            feature.name: pa.array(
                [
                    values[feature.name].SerializeToString() if feature.name in values else b""
                    for _, values, _, _ in data
                ],
                pa.large_binary(),
            )
            for feature in table.features
        }
        micros = np.array([datetime_micros(ts) for _, _, ts, _ in data], dtype=np.int64)
        self.write_columns(config, table, pa.array(keys, pa.large_binary()), features, micros)
        if progress:
            progress(len(data))


def send_packed(client: Redis, commands: list[bytes]) -> list:
    """Send commands already in wire format (`resp_commands`) in one write and read one
    reply per command: a pipeline without redis-py's per-command packing."""
    connection = client.connection_pool.get_connection()
    try:
        connection.send_packed_command([b"".join(commands)])
        return [connection.read_response() for _ in commands]
    except BaseException:
        # Unread replies would be taken for the next command's: drop the connection.
        connection.disconnect()
        raise
    finally:
        client.connection_pool.release(connection)
