"""Rows of a feature view in the form the bulk online stores write, built column-wise.

A materialized batch arrives as an Arrow table. Feast's own path
(`feast.utils._convert_arrow_to_proto`) turns every cell into a `ValueProto` object first,
which costs more than the whole write. Here the protobuf wire bytes are built with numpy
for whole columns at once, and must be byte-for-byte what `ValueProto.SerializeToString()`
gives for the value Feast would have built (tests/feature_store/test_online_stores.py
checks this). Types without a vectorised encoder fall back to Feast's converter, cell by
cell, so every type Feast supports still works.

The encoded forms:
- entity key: `serialize_entity_key(..., entity_key_serialization_version=3)`;
- feature value: `ValueProto` bytes; a null is the empty `ValueProto` (b""), as in Feast;
- entity row: a `RepeatedValue` message holding the view's features in a given order;
- timestamps: integer microseconds since the epoch (UTC).
"""

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from feast import FeatureView
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import RepeatedValue
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import python_values_to_proto_values
from feast.utils import make_tzaware
from feast.value_type import ValueType

ENTITY_KEY_SERIALIZATION_VERSION = 3
_VARINT_BYTES = 10  # the most a 64-bit varint takes
_REPEATED_VALUE_TAG = 0x0A  # RepeatedValue.val: field 1, length-delimited
_MICROS = 1_000_000


@dataclass(frozen=True)
class _FixedWidth:
    """A Value field of fixed width: its tag byte and the little-endian type of its payload."""

    tag: int
    dtype: str


@dataclass(frozen=True)
class _Varint:
    """A Value field encoded as a varint (negative numbers take 10 bytes, as in protobuf)."""

    tag: int
    dtype: str


_VALUE_ENCODINGS = {
    ValueType.DOUBLE: _FixedWidth(0x29, "<f8"),  # double_val: field 5, 64-bit
    ValueType.FLOAT: _FixedWidth(0x35, "<f4"),  # float_val: field 6, 32-bit
    ValueType.INT64: _Varint(0x20, "int64"),  # int64_val: field 4
    ValueType.INT32: _Varint(0x18, "int32"),  # int32_val: field 3
    ValueType.BOOL: _Varint(0x38, "bool"),  # bool_val: field 7
}
_ENTITY_KEY_WIDTHS = {ValueType.INT64: "<i8", ValueType.INT32: "<i4"}


@dataclass(frozen=True)
class EncodedRows:
    """One batch of a view's rows, encoded; every array has one element per row, and
    `features` holds the values of `feature_names` in that order."""

    feature_names: tuple[str, ...]
    entity_keys: list[bytes]
    features: list[bytes]
    event_micros: np.ndarray
    created_micros: np.ndarray | None

    def __len__(self) -> int:
        return len(self.entity_keys)

    def sorted_by_key(self) -> "EncodedRows":
        """The same rows in entity key order."""
        order = pc.sort_indices(pa.array(self.entity_keys, pa.large_binary())).to_numpy()
        created = self.created_micros
        return EncodedRows(
            feature_names=self.feature_names,
            entity_keys=[self.entity_keys[row] for row in order],
            features=[self.features[row] for row in order],
            event_micros=self.event_micros[order],
            created_micros=created[order] if created is not None else None,
        )


@dataclass(frozen=True)
class _Ragged:
    """Byte strings of different lengths, one per row: row i is the first `lengths[i]`
    bytes of row i of a (rows, width) byte matrix."""

    matrix: np.ndarray
    lengths: np.ndarray

    @classmethod
    def constant(cls, value: bytes, rows: int) -> "_Ragged":
        matrix = np.broadcast_to(np.frombuffer(value, dtype=np.uint8), (rows, len(value)))
        return cls(matrix, np.full(rows, len(value), dtype=np.int64))

    @classmethod
    def fixed(cls, values: np.ndarray, dtype: str) -> "_Ragged":
        """Each value's little-endian bytes."""
        matrix = values.astype(dtype).view(np.uint8).reshape(len(values), -1)
        return cls(matrix, np.full(len(values), matrix.shape[1], dtype=np.int64))

    @classmethod
    def from_binary(cls, values: pa.Array) -> "_Ragged":
        values = values.cast(pa.large_binary())
        _, offsets, data = values.buffers()
        starts = np.frombuffer(offsets, dtype=np.int64)[values.offset :][: len(values) + 1]
        lengths = np.diff(starts)
        width = int(lengths.max()) if len(lengths) else 0
        used = np.arange(width) < lengths[:, None]
        matrix = np.zeros(used.shape, dtype=np.uint8)
        if data is not None:
            cells = (starts[:-1, None] + np.arange(width))[used]
            matrix[used] = np.frombuffer(data, dtype=np.uint8)[cells]
        return cls(matrix, lengths)

    def then(self, other: "_Ragged") -> "_Ragged":
        """This row's bytes followed by `other`'s; this one must be of fixed width."""
        return _Ragged(np.hstack([self.matrix, other.matrix]), self.lengths + other.lengths)

    def without(self, rows: np.ndarray) -> "_Ragged":
        """The same, with the rows of the mask `rows` emptied."""
        return _Ragged(self.matrix, np.where(rows, 0, self.lengths))


def _join(parts: Sequence[_Ragged]) -> list[bytes]:
    """Each row's bytes of all parts, one after the other."""
    return _join_array(parts).to_pylist()


def _join_array(parts: Sequence[_Ragged]) -> pa.Array:
    """Each row's bytes of all parts, one after the other, as an Arrow binary array."""
    rows = len(parts[0].lengths)
    widths = [part.matrix.shape[1] for part in parts]
    # Column-major: the parts are copied in as column slices, which is then contiguous.
    matrix = np.empty((rows, sum(widths)), dtype=np.uint8, order="F")
    used = np.ones(matrix.shape, dtype=bool, order="F")
    column = 0
    for part, width in zip(parts, widths, strict=True):
        matrix[:, column : column + width] = part.matrix
        if part.lengths.min(initial=width) < width:
            used[:, column : column + width] = np.arange(width) < part.lengths[:, None]
        column += width
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(sum(part.lengths for part in parts), out=offsets[1:])
    data = matrix[used]
    return pa.Array.from_buffers(
        pa.large_binary(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _varints(values: np.ndarray) -> _Ragged:
    """Each value as a protobuf varint (negative numbers take 10 bytes, as in protobuf)."""
    unsigned = values.astype(np.int64).view(np.uint64)
    lengths = np.ones(len(unsigned), dtype=np.int64)
    for group in range(1, _VARINT_BYTES):
        longer = unsigned >= np.uint64(1 << (7 * group))
        if not longer.any():
            break
        lengths += longer
    width = int(lengths.max()) if len(lengths) else 1
    shifts = np.arange(width, dtype=np.uint64) * np.uint64(7)
    groups = ((unsigned[:, None] >> shifts) & np.uint64(0x7F)).astype(np.uint8)
    groups[np.arange(width) < (lengths - 1)[:, None]] |= 0x80
    return _Ragged(groups, lengths)


def _missing(column: pa.Array) -> np.ndarray:
    """Feast turns a null, and a float NaN, into the empty Value."""
    missing = column.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_floating(column.type):
        missing |= np.isnan(column.fill_null(0).to_numpy(zero_copy_only=False))
    return missing


def _values(column: pa.Array, value_type: ValueType) -> _Ragged:
    """Each cell's `ValueProto` bytes, as Feast would serialize them."""
    encoding = _VALUE_ENCODINGS.get(value_type)
    if encoding is None:
        protos = python_values_to_proto_values(column.to_numpy(zero_copy_only=False), value_type)
        serialized = [proto.SerializeToString() for proto in protos]
        return _Ragged.from_binary(pa.array(serialized, pa.large_binary()))
    filled = column.fill_null(False if encoding.dtype == "bool" else 0)
    values = filled.to_numpy(zero_copy_only=False)
    if isinstance(encoding, _FixedWidth):
        payload = _Ragged.fixed(values, encoding.dtype)
    else:
        payload = _varints(values.astype(encoding.dtype))
    tag = _Ragged.constant(bytes([encoding.tag]), len(values))
    return tag.then(payload).without(_missing(column))


def value_bytes(column: pa.Array, value_type: ValueType) -> pa.Array:
    """Each cell's `ValueProto` bytes, as Feast would serialize them."""
    return _join_array([_values(column, value_type)])


def feature_columns(table: pa.Table | pa.RecordBatch, view: FeatureView) -> dict[str, pa.Array]:
    """Each feature's `ValueProto` bytes, one array per feature of `view`."""
    return {
        feature.name: value_bytes(_array(table, feature.name), feature.dtype.to_value_type())
        for feature in view.features
    }


def feature_rows(table: pa.Table | pa.RecordBatch, view: FeatureView, names: Sequence[str]):
    """Each row's features `names` of `view` as one serialized RepeatedValue."""
    if not names:
        return [b""] * table.num_rows
    types = {feature.name: feature.dtype.to_value_type() for feature in view.features}
    tag = _Ragged.constant(bytes([_REPEATED_VALUE_TAG]), table.num_rows)
    parts = []
    for name in names:
        value = _values(_array(table, name), types[name])
        parts += [tag, _varints(value.lengths), value]
    return _join(parts)


def timestamp_proto_bytes(micros: np.ndarray) -> pa.Array:
    """Each instant as a serialized google.protobuf.Timestamp, as Feast's Redis store keeps
    it (`Timestamp.FromDatetime(...).SerializeToString()`: nanos left out when 0)."""
    seconds, remainder = np.divmod(micros, _MICROS)
    nanos = remainder * 1_000
    rows = len(micros)
    seconds_field = _Ragged.constant(b"\x08", rows).then(_varints(seconds))
    nanos_field = _Ragged.constant(b"\x10", rows).then(_varints(nanos)).without(nanos == 0)
    return _join_array([seconds_field, nanos_field])


def varint(value: int) -> bytes:
    """A non-negative integer as a protobuf varint."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def repeated_elements(blob: bytes) -> list[bytes]:
    """The elements of a serialized RepeatedValue as they are on the wire: tag, length and
    Value bytes each. Every repeated message field numbered 1 has this form, e.g. the
    `values` of a GetOnlineFeaturesResponse.FeatureVector."""
    elements, position, size = [], 0, len(blob)
    while position < size:
        length, start = blob[position + 1], position + 2
        if length >= 0x80:  # a length of more than one varint byte: a Value of 128+ bytes
            length, start = _varint_at(blob, position + 1)
        end = start + length
        elements.append(blob[position:end])
        position = end
    return elements


def _varint_at(blob: bytes, position: int) -> tuple[int, int]:
    """The varint starting at `position`, and where the bytes after it start."""
    value, shift = 0, 0
    while blob[position] >= 0x80:
        value |= (blob[position] & 0x7F) << shift
        shift, position = shift + 7, position + 1
    return value | blob[position] << shift, position + 1


def _bulk_string(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def resp_arguments(arguments: Sequence[bytes | pa.Array], rows: int) -> list[bytes]:
    """Per row, `arguments` as Redis bulk strings (`$<length>\\r\\n<bytes>\\r\\n` each), built
    column-wise. An argument is either the same bytes for every row or an Arrow
    binary/string array with one value per row."""
    parts = []
    constant = b""
    for argument in arguments:
        if isinstance(argument, bytes):
            constant += _bulk_string(argument)
            continue
        value = _Ragged.from_binary(argument)
        length = _Ragged.from_binary(pc.cast(pa.array(value.lengths), pa.string()))
        parts += [
            _Ragged.constant(constant + b"$", rows),
            length,
            _Ragged.constant(b"\r\n", rows),
            value,
        ]
        constant = b"\r\n"
    if constant:
        parts.append(_Ragged.constant(constant, rows))
    return _join(parts)


def resp_commands(arguments: Sequence[bytes | pa.Array], rows: int) -> list[bytes]:
    """One Redis command per row in the protocol's wire format (a RESP array of bulk
    strings); `arguments` as in `resp_arguments`."""
    header = b"*%d\r\n" % len(arguments)
    return [header + row for row in resp_arguments(arguments, rows)]


def resp_array_header(count: int) -> bytes:
    return b"*%d\r\n" % count


def bulk_strings(*values: bytes) -> bytes:
    return b"".join(_bulk_string(value) for value in values)


def _array(table: pa.Table | pa.RecordBatch, name: str) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def entity_keys(table: pa.Table | pa.RecordBatch, join_keys: dict[str, ValueType]) -> list:
    """Each row's serialized entity key (string and integer keys column-wise, others by
    Feast's own serializer)."""
    if any(
        value_type not in (ValueType.STRING, *_ENTITY_KEY_WIDTHS)
        for value_type in join_keys.values()
    ):
        return _entity_keys_by_row(table, join_keys)
    rows = table.num_rows
    names = sorted(join_keys)  # Feast sorts the keys of a composite entity by name
    parts = [_Ragged.constant(_entity_key_header(names), rows)]
    for name in names:
        value_type, column = join_keys[name], _array(table, name)
        if value_type == ValueType.STRING:
            value = _Ragged.from_binary(column)
            length = _Ragged.fixed(value.lengths, "<u4")
        else:
            width = _ENTITY_KEY_WIDTHS[value_type]
            value = _Ragged.fixed(column.to_numpy(zero_copy_only=False), width)
            length = _Ragged.constant(struct.pack("<I", value.matrix.shape[1]), rows)
        parts += [_Ragged.constant(struct.pack("<I", value_type.value), rows), length, value]
    return _join(parts)


def _entity_key_header(names: Sequence[str]) -> bytes:
    header = [struct.pack("<I", len(names))]
    for name in names:
        encoded = name.encode()
        header += [struct.pack("<II", ValueType.STRING.value, len(encoded)), encoded]
    return b"".join(header)


_PROTO_KEY_FIELDS = {
    "string_val": (ValueType.STRING, lambda value: value.encode()),
    "int64_val": (ValueType.INT64, lambda value: struct.pack("<q", value)),
    "int32_val": (ValueType.INT32, lambda value: struct.pack("<i", value)),
}


def proto_entity_keys(values: dict[str, Sequence[ValueProto]]) -> list[bytes]:
    """Serialized entity keys of request rows: `values` maps each join key to one Value per
    row. Equal to `serialize_entity_key`, without building an EntityKey per row."""
    names = sorted(values)
    parts = [_proto_key_values(values[name]) for name in names]
    if any(part is None for part in parts):
        rows = zip(*(values[name] for name in names), strict=True)
        return [
            serialize_entity_key(
                EntityKeyProto(join_keys=names, entity_values=row), ENTITY_KEY_SERIALIZATION_VERSION
            )
            for row in rows
        ]
    header = _entity_key_header(names)
    return [header + b"".join(row) for row in zip(*parts, strict=True)]


def _proto_key_values(column: Sequence[ValueProto]) -> list[bytes] | None:
    """Each Value's part of a serialized entity key (type, length, bytes), column-wise; None
    unless every Value is of the same type among string, int64 and int32."""
    fields = {value.WhichOneof("val") for value in column}
    if len(fields) != 1 or (field := fields.pop()) not in _PROTO_KEY_FIELDS:
        return None
    value_type, to_bytes = _PROTO_KEY_FIELDS[field]
    type_bytes = struct.pack("<I", value_type.value)
    data = [to_bytes(getattr(value, field)) for value in column]
    return [type_bytes + struct.pack("<I", len(item)) + item for item in data]


def _entity_keys_by_row(table, join_keys: dict[str, ValueType]) -> list[bytes]:
    values = {
        name: python_values_to_proto_values(
            _array(table, name).to_numpy(zero_copy_only=False), value_type
        )
        for name, value_type in join_keys.items()
    }
    return [
        serialize_entity_key(
            EntityKeyProto(
                join_keys=list(join_keys), entity_values=[values[k][row] for k in join_keys]
            ),
            entity_key_serialization_version=ENTITY_KEY_SERIALIZATION_VERSION,
        )
        for row in range(table.num_rows)
    ]


def timestamp_micros(column: pa.Array) -> np.ndarray:
    """Microseconds since the epoch of a timestamp column (naive means UTC, as in Feast)."""
    as_micros = pc.cast(column, pa.timestamp("us", tz=getattr(column.type, "tz", None)))
    return as_micros.cast(pa.int64()).to_numpy(zero_copy_only=False)


def datetime_micros(moment: datetime) -> int:
    aware = make_tzaware(moment)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * _MICROS + delta.microseconds


def feature_names(view: FeatureView) -> tuple[str, ...]:
    return tuple(feature.name for feature in view.features)


def join_key_types(view: FeatureView) -> dict[str, ValueType]:
    return {entity.name: entity.dtype.to_value_type() for entity in view.entity_columns}


def encode_table(table: pa.Table | pa.RecordBatch, view: FeatureView) -> EncodedRows:
    """The rows of one materialized batch (columns already renamed by the field mapping)."""
    source = view.batch_source
    created = source.created_timestamp_column
    names = feature_names(view)
    return EncodedRows(
        feature_names=names,
        entity_keys=entity_keys(table, join_key_types(view)),
        features=feature_rows(table, view, names),
        event_micros=timestamp_micros(_array(table, source.timestamp_field)),
        created_micros=timestamp_micros(_array(table, created)) if created else None,
    )


def encode_protos(
    data: Sequence[tuple[EntityKeyProto, dict[str, ValueProto], datetime, datetime | None]],
    view: FeatureView,
) -> EncodedRows:
    """The rows Feast hands to `online_write_batch`. A feature missing from a row is stored
    as the empty Value, as a null is."""
    names = feature_names(view)
    empty = ValueProto()
    created = [created for *_, created in data]
    return EncodedRows(
        feature_names=names,
        entity_keys=[
            serialize_entity_key(key, ENTITY_KEY_SERIALIZATION_VERSION) for key, *_ in data
        ],
        features=[
            RepeatedValue(val=[values.get(name, empty) for name in names]).SerializeToString()
            for _, values, _, _ in data
        ],
        event_micros=np.array([datetime_micros(ts) for _, _, ts, _ in data], dtype=np.int64),
        created_micros=(
            np.array([datetime_micros(ts) for ts in created], dtype=np.int64)
            if all(created)
            else None
        ),
    )
