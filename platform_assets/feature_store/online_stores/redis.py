"""A Redis online store that writes large pipelines and guards every entity atomically.

Layout: exactly Feast's (docs/specs/online_store_format.md): one hash per entity key
(`serialize_entity_key(...) + project`), a field `mmh3("<view>:<feature>")` per feature
holding `ValueProto` bytes, and `_ts:<view>` holding the event time as a serialized
`google.protobuf.Timestamp`. Reads are Feast's own, so stock and bulk stores can share keys.

The guard: Feast's stock store reads every `_ts:<view>` of a batch in one pipeline and
writes the newer rows in a second one. Between the two another writer can slip in, and an
equal timestamp is skipped. Here a small Lua script, run with `EVALSHA` for every
`entities_per_script` entities, compares each entity's stored `_ts:<view>` (seconds, then
nanos) with the incoming one and writes the entity only if the incoming one is not older,
on the server, where nothing runs in between (Redis runs a script whole). An equal
timestamp overwrites, so a retried push is idempotent. A push that fails midway leaves
every entity either as it was or fully written.

The commands are built column-wise as protocol bytes and sent `pipeline_rows` entities per
round trip on one connection, without redis-py's per-command packing.
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
    bulk_strings,
    datetime_micros,
    entity_keys,
    feature_columns,
    join_key_types,
    resp_arguments,
    resp_array_header,
    timestamp_micros,
    timestamp_proto_bytes,
)

STORE_TYPE = "platform_assets.feature_store.online_stores.redis.BulkRedisOnlineStore"
_MICROS = 1_000_000

# KEYS: entity hashes. ARGV[1]: the `_ts:<view>` field; ARGV[2]: the TTL in seconds (0:
# none); ARGV[3]: n, the number of features; ARGV[4..3+n]: their fields; then for each key:
# the new Timestamp bytes, its seconds, its nanos, and its n values. Returns how many
# entities it wrote.
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
local ts_field, ttl, features = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local written = 0
for index, key in ipairs(KEYS) do
  local first = 3 + features + (index - 1) * (3 + features)
  local new_seconds, new_nanos = tonumber(ARGV[first + 2]), tonumber(ARGV[first + 3])
  local older = false
  local stored = redis.call('HGET', key, ts_field)
  if stored then
    local seconds, nanos = timestamp(stored)
    older = new_seconds < seconds or (new_seconds == seconds and new_nanos < nanos)
  end
  if not older then
    local fields = {ts_field, ARGV[first + 1]}
    for feature = 1, features do
      fields[#fields + 1] = ARGV[3 + feature]
      fields[#fields + 1] = ARGV[first + 3 + feature]
    end
    redis.call('HSET', key, unpack(fields))
    if ttl > 0 then redis.call('EXPIRE', key, ttl) end
    written = written + 1
  end
end
return written
"""


class BulkRedisOnlineStoreConfig(RedisOnlineStoreConfig):
    """`online_store: {type: <STORE_TYPE>, connection_string: ...}` in feature_store.yaml."""

    type: Literal[STORE_TYPE] = STORE_TYPE  # type: ignore[assignment]
    pipeline_rows: PositiveInt = 10_000
    """Entities per pipeline round trip."""
    entities_per_script: PositiveInt = 100
    """Entities one script call guards and writes: few replies to read, yet a short pause
    of the server (a script runs alone)."""


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
        rows = len(keys)
        hashes = resp_arguments(
            [pc.binary_join_element_wise(keys.cast(pa.large_binary()), project, glue)], rows
        )
        arguments = resp_arguments(
            [
                timestamp_proto_bytes(event_micros),
                pc.cast(pa.array(seconds), pa.string()),
                pc.cast(pa.array(remainder * 1_000), pa.string()),
                *features.values(),
            ],
            rows,
        )
        fields = [_mmh3(f"{name}:{feature}") for feature in features]
        ttl = str(store_config.key_ttl_seconds or 0).encode()
        shared = bulk_strings(f"_ts:{name}".encode(), ttl, str(len(fields)).encode(), *fields)
        per_entity = 3 + len(fields)
        commands, per_script = [], store_config.entities_per_script
        for start in range(0, rows, per_script):
            group = min(per_script, rows - start)
            commands.append(
                resp_array_header(3 + group + 3 + len(fields) + group * per_entity)
                + bulk_strings(b"EVALSHA", sha, str(group).encode())
                + b"".join(hashes[start : start + group])
                + shared
                + b"".join(arguments[start : start + group])
            )
        step = max(1, store_config.pipeline_rows // per_script)
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
