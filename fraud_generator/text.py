"""Vectorised text building for landing files (pyarrow compute kernels, no per-row Python).

A line is built from *field texts*: values already encoded for the file format (JSON strings
quoted, nulls as `null`; CSV raw, nulls empty). The literal text between fields comes from
`line_separators`, shared by the vectorised path (`render_lines`) and the single-line path
used for the few defective lines (`render_line`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL_TEXT = {"jsonl": "null", "csv": ""}
QUOTE = {"jsonl": '"', "csv": ""}


def line_separators(names: Sequence[str], fmt: str) -> list[str]:
    """The len(names) + 1 literal pieces around the field texts of one line (no newline)."""
    if fmt == "jsonl":
        return ["{" + f'"{names[0]}":', *(f',"{name}":' for name in names[1:]), "}"]
    return ["", *([","] * (len(names) - 1)), ""]


def render_lines(fields: dict[str, pa.Array], fmt: str) -> pa.StringArray:
    """One line per row, each ending with a newline."""
    separators = line_separators(list(fields), fmt)
    pieces: list = []
    for separator, values in zip(separators, fields.values(), strict=False):
        pieces += [separator, values]
    pieces.append(separators[-1] + "\n")
    return pc.binary_join_element_wise(*pieces, "")


def render_line(fields: dict[str, str], fmt: str) -> str:
    """A single line without its newline (same layout as `render_lines`)."""
    separators = line_separators(list(fields), fmt)
    pieces = (
        separator + text for separator, text in zip(separators, fields.values(), strict=False)
    )
    return "".join(pieces) + separators[-1]


def csv_header(names: Sequence[str]) -> str:
    return ",".join(names) + "\n"


def encode_strings(values: pa.Array, fmt: str) -> pa.Array:
    quote = QUOTE[fmt]
    quoted = pc.binary_join_element_wise(quote, values, quote, "") if quote else values
    return pc.fill_null(quoted, NULL_TEXT[fmt])


def encode_numbers(values: pa.Array, fmt: str) -> pa.Array:
    return pc.fill_null(values, NULL_TEXT[fmt])


def encode_string(value: str, fmt: str) -> str:
    return QUOTE[fmt] + value + QUOTE[fmt]


def take(vocabulary: pa.Array, indices: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """vocabulary[indices]; null where `present` is False."""
    mask = None if present is None else ~present
    return vocabulary.take(pa.array(indices, mask=mask))


def format_ids(prefix: str, numbers: np.ndarray, width: int, present=None) -> pa.Array:
    """`prefix` + zero-padded number, e.g. u000123; null where `present` is False."""
    mask = None if present is None else ~present
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, mask=mask), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def format_fixed(values: np.ndarray, decimals: int) -> pa.Array:
    """Fixed-point decimal text (always `decimals` digits), e.g. 12.30 or -0.12780."""
    scale = 10**decimals
    scaled = np.rint(np.abs(values) * scale).astype(np.int64)
    sign = take(pa.array(["", "-"]), ((values < 0) & (scaled > 0)).astype(np.int8))
    whole = pc.cast(pa.array(scaled // scale), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(scaled % scale), pa.string()), decimals, "0")
    return pc.binary_join_element_wise(sign, whole, ".", fraction, "")


def format_utc_offset(minutes: int) -> str:
    if minutes == 0:
        return "Z"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def format_timestamps(utc_ms: np.ndarray, offset_minutes: np.ndarray | None) -> pa.Array:
    """ISO 8601 local time with millisecond precision and the UTC offset, e.g.
    2024-01-02T10:11:12.123+01:00; without offsets (None): the naive UTC wall time."""
    if offset_minutes is None:
        return pa.array(np.datetime_as_string(utc_ms.astype("datetime64[ms]"), unit="ms"))
    local = (utc_ms + offset_minutes.astype(np.int64) * 60_000).astype("datetime64[ms]")
    offsets, offset_index = np.unique(offset_minutes, return_inverse=True)
    suffix = take(pa.array([format_utc_offset(int(m)) for m in offsets]), offset_index)
    wall_time = pa.array(np.datetime_as_string(local, unit="ms"))
    return pc.binary_join_element_wise(wall_time, suffix, "")


class HashingWriter:
    """Binary file writer that also computes the sha256 of what it wrote."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("wb")
        self._hash = hashlib.sha256()

    def write(self, data: bytes | memoryview) -> None:
        self._file.write(data)
        self._hash.update(data)

    def write_lines(self, lines: pa.StringArray, replacements: dict[int, bytes]) -> None:
        """Write the lines' bytes straight from the Arrow buffer, swapping in `replacements`
        (line index -> full replacement bytes) for the few defective lines."""
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
            lines.offset : lines.offset + len(lines) + 1
        ]
        data = memoryview(lines.buffers()[2])
        start = 0
        for index in sorted(replacements):
            self.write(data[offsets[start] : offsets[index]])
            self.write(replacements[index])
            start = index + 1
        self.write(data[offsets[start] : offsets[len(lines)]])

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> HashingWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
