"""Landing file bytes -> typed Arrow rows, plus every line that could not be typed and why.

Fast path: the whole file is parsed by Arrow's multithreaded readers in one call. When
that fails (bad UTF-8, a malformed line, a wrong type), the file is split into lines and
parsed in halves until each bad line is isolated, so a few bad lines in a big file cost a
few extra parses rather than a line-by-line Python loop. Reason codes are those of
docs/landing-contract.md.
"""

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from platform_assets.ingest.sources import Kind, LandingSource
from platform_assets.ingest.tokenization import CardTokenizer

LINE_COLUMN = "_line"
_FLOAT_TEXT = r"(?i)^[+-]?((\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?|nan|inf|infinity)$"
_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME_TEXT = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
_UTC_OFFSET_TEXT = r"([Zz]|[+-]\d{2}(:?\d{2})?)$"
_EPOCH_TEXT = r"^\d{9,14}(\.\d+)?$"
# Epoch values at or above this are milliseconds (1e11 s is the year 5138).
_EPOCH_MILLIS_FROM = 1e11


class BatchRejected(Exception):
    """A schema-level problem: the whole batch is refused and nothing is written."""


@dataclass
class RejectedLine:
    line: int
    reason: str
    raw: bytes


@dataclass
class ParsedFile:
    rows: pa.Table
    """Typed rows (`LandingSource.typed_schema()`) plus the 1-based `_line` they came from."""
    rejected: list[RejectedLine] = field(default_factory=list)
    source_rows: int = 0
    """Non-blank data lines in the file (CSV header excluded)."""
    warnings: Counter = field(default_factory=Counter)
    unexpected_columns: tuple[str, ...] = ()


def file_format(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise BatchRejected(f"{name}: unsupported file type {suffix!r} (expected .jsonl or .csv)")


def parse_file(
    name: str, data: bytes, source: LandingSource, tokenizer: CardTokenizer
) -> ParsedFile:
    """Parse one landing file. Raises `BatchRejected` for a missing or renamed column."""
    reader = (
        _CsvReader(name, data, source)
        if file_format(name) == "csv"
        else _JsonReader(name, data, source)
    )
    parsed = ParsedFile(rows=_empty_rows(source), unexpected_columns=reader.check_columns())
    if parsed.unexpected_columns:
        parsed.warnings["unexpected_columns"] += 1
    if reader.body_is_empty():
        parsed.warnings["empty_files"] += 1
        return parsed

    raw, parsed.rejected, parsed.source_rows = reader.parse()
    typed, coercion_failures = _coerce(raw, source, parsed.warnings)
    if coercion_failures:
        line_text = reader.line_text()
        lines = typed[LINE_COLUMN].to_pylist()
        for index, reason in coercion_failures.items():
            parsed.rejected.append(RejectedLine(lines[index], reason, line_text(lines[index])))
        keep = np.ones(typed.num_rows, dtype=bool)
        keep[list(coercion_failures)] = False
        typed = typed.filter(pa.array(keep))
    parsed.rows = _tokenize_cards(typed, source, tokenizer)
    parsed.rejected.sort(key=lambda rejected: rejected.line)
    return parsed


def _empty_rows(source: LandingSource) -> pa.Table:
    schema = source.typed_schema().append(pa.field(LINE_COLUMN, pa.int64()))
    return schema.empty_table()


class _LineReader:
    """Shared mechanics: fast whole-file parse, else bisect over lines."""

    first_data_line = 1

    def __init__(self, name: str, data: bytes, source: LandingSource):
        self.name, self.data, self.source = name, data, source
        self.ends_with_newline = data.endswith(b"\n")

    def body(self) -> bytes:
        return self.data

    def body_is_empty(self) -> bool:
        body = self.body()
        return not body or body.isspace()

    def check_columns(self) -> tuple[str, ...]:
        raise NotImplementedError

    def parse_chunk(self, chunk: bytes) -> pa.Table:
        raise NotImplementedError

    def classify_line(self, raw: bytes, is_unterminated_last: bool) -> tuple[str, dict | None]:
        """Reason a single line failed to parse; or (``""``, record) if Python can type it."""
        raise NotImplementedError

    def raw_schema(self) -> pa.Schema:
        raise NotImplementedError

    def may_parse_whole(self) -> bool:
        """Whether the whole-file parse can be trusted to reject every bad byte."""
        return True

    def parse_whole(self) -> pa.Table:
        return self.parse_chunk(self.data)

    def parse(self) -> tuple[pa.Table, list[RejectedLine], int]:
        # Readers skip blank lines and a quote can swallow line breaks: either way the row
        # count no longer matches the line count, and the careful path takes over.
        line_breaks = self.data.count(b"\n") + (0 if self.ends_with_newline else 1)
        data_lines = line_breaks - (self.first_data_line - 1)
        if self.may_parse_whole():
            try:
                table = self.parse_whole()
                if table.num_rows == data_lines:
                    numbers = np.arange(self.first_data_line, self.first_data_line + data_lines)
                    return _with_lines(table, numbers), [], data_lines
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                pass
        return self._parse_line_by_halves(self.body())

    def _parse_line_by_halves(self, body: bytes) -> tuple[pa.Table, list[RejectedLine], int]:
        numbered = [
            (number, line.rstrip(b"\r"))
            for number, line in enumerate(body.split(b"\n"), start=self.first_data_line)
            if line.strip()
        ]
        last_number = numbered[-1][0] if numbered else -1
        rejected: list[RejectedLine] = []
        pieces: list[pa.Table] = []
        records: list[dict] = []

        def reject_or_recover(number: int, line: bytes) -> None:
            unterminated = number == last_number and not self.ends_with_newline
            reason, record = self.classify_line(line, unterminated)
            if reason:
                rejected.append(RejectedLine(number, reason, line))
            else:
                records.append({**record, LINE_COLUMN: number})

        valid = []
        for number, line in numbered:
            if _is_utf8(line):
                valid.append((number, line))
            else:
                rejected.append(RejectedLine(number, "invalid_utf8", line))

        pending = [valid] if valid else []
        while pending:
            chunk = pending.pop()
            try:
                table = self.parse_chunk(b"\n".join(line for _, line in chunk))
                if table.num_rows != len(chunk):
                    raise pa.ArrowInvalid("a quote swallowed line breaks")
                pieces.append(_with_lines(table, np.array([number for number, _ in chunk])))
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                if len(chunk) == 1:
                    reject_or_recover(*chunk[0])
                else:
                    middle = len(chunk) // 2
                    pending.extend([chunk[middle:], chunk[:middle]])
        if records:
            schema = self.raw_schema().append(pa.field(LINE_COLUMN, pa.int64()))
            pieces.append(pa.Table.from_pylist(records, schema=schema))
        if not pieces:
            table = self.raw_schema().append(pa.field(LINE_COLUMN, pa.int64())).empty_table()
        else:
            table = pa.concat_tables(pieces).sort_by(LINE_COLUMN)
        return table, rejected, len(numbered)

    def line_text(self):
        """Lookup of a line's raw bytes by its 1-based number (built on first use)."""
        lines = self.data.split(b"\n")
        return lambda number: lines[number - 1].rstrip(b"\r")


class _JsonReader(_LineReader):
    def may_parse_whole(self) -> bool:
        return _is_utf8(self.data)  # Arrow's JSON reader replaces invalid UTF-8 silently

    def raw_schema(self) -> pa.Schema:
        return pa.schema(
            [
                (name, pa.float64() if kind is Kind.FLOAT else pa.string())
                for name, kind in self.source.columns.items()
            ]
        )

    def check_columns(self) -> tuple[str, ...]:
        first = _first_json_object(self.data)
        if first is None:
            return ()
        return _compare_columns(self.name, list(first), self.source)

    def parse_chunk(self, chunk: bytes) -> pa.Table:
        options = pa_json.ParseOptions(
            explicit_schema=self.raw_schema(), unexpected_field_behavior="ignore"
        )
        return pa_json.read_json(io.BytesIO(chunk), parse_options=options)

    def classify_line(self, raw: bytes, is_unterminated_last: bool) -> tuple[str, dict | None]:
        try:
            value = json.loads(raw)
        except ValueError:
            return ("truncated_record" if is_unterminated_last else "malformed_json"), None
        if not isinstance(value, dict):
            return "malformed_json", None
        record, wrong = {}, []
        for name, kind in self.source.columns.items():
            cell = value.get(name)
            is_number = isinstance(cell, int | float) and not isinstance(cell, bool)
            is_text = isinstance(cell, str) and kind is not Kind.FLOAT
            if cell is None or is_text or (kind is Kind.FLOAT and is_number):
                record[name] = cell
            elif is_number and kind is Kind.TIMESTAMP:
                record[name] = repr(cell)  # epoch seconds/millis, resolved in _coerce
            else:
                wrong.append(f"wrong_type:{name}")
        return ";".join(wrong), (None if wrong else record)


class _CsvReader(_LineReader):
    first_data_line = 2

    def __init__(self, name: str, data: bytes, source: LandingSource):
        super().__init__(name, data, source)
        header_end = data.find(b"\n")
        self.body_start = len(data) if header_end < 0 else header_end + 1
        self.header = data[: self.body_start].rstrip(b"\r\n")
        try:
            self.header_columns = next(csv.reader([self.header.decode("utf-8")]), [])
        except UnicodeDecodeError as error:
            raise BatchRejected(f"{name}: the CSV header is not valid UTF-8") from error

    def body(self) -> bytes:
        return self.data[self.body_start :]

    def body_is_empty(self) -> bool:
        return self.body_start == len(self.data) or self.body().isspace()

    def raw_schema(self) -> pa.Schema:
        return pa.schema([(name, pa.string()) for name in self.source.columns])

    def check_columns(self) -> tuple[str, ...]:
        return _compare_columns(self.name, self.header_columns, self.source)

    def parse_whole(self) -> pa.Table:
        return self._read(self.data)  # header included: no copy of the body

    def parse_chunk(self, chunk: bytes) -> pa.Table:
        return self._read(self.header + b"\n" + chunk)

    def _read(self, csv_bytes: bytes) -> pa.Table:
        # Arrow's CSV reader validates UTF-8 in every column it converts to string.
        wanted = list(self.source.columns)
        convert = pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in self.header_columns},
            include_columns=wanted,
            strings_can_be_null=True,
            null_values=[""],
        )
        return pa_csv.read_csv(
            io.BytesIO(csv_bytes),
            parse_options=pa_csv.ParseOptions(newlines_in_values=False),
            convert_options=convert,
        ).select(wanted)

    def classify_line(self, raw: bytes, is_unterminated_last: bool) -> tuple[str, dict | None]:
        text = raw.decode("utf-8")
        if text.count('"') % 2 == 1:
            return ("truncated_record" if is_unterminated_last else "unclosed_quote"), None
        fields = next(csv.reader([text]), [])
        if len(fields) < len(self.header_columns) and is_unterminated_last:
            return "truncated_record", None
        if len(fields) != len(self.header_columns):
            return "ragged_row", None
        return "unparseable_csv", None


def _compare_columns(name: str, found: list[str], source: LandingSource) -> tuple[str, ...]:
    missing = [column for column in source.columns if column not in found]
    unexpected = tuple(column for column in found if column not in source.columns)
    if missing:
        hint = f"; unexpected column(s) {list(unexpected)} (renamed?)" if unexpected else ""
        raise BatchRejected(
            f"{name}: missing required column(s) {missing}{hint}. "
            f"The {source.name} batch was rejected and no table was changed."
        )
    return unexpected


def _first_json_object(data: bytes) -> dict | None:
    for line in data.split(b"\n", 50)[:50]:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _with_lines(table: pa.Table, numbers: np.ndarray) -> pa.Table:
    return table.append_column(LINE_COLUMN, pa.array(numbers, pa.int64()))


def _coerce(
    raw: pa.Table, source: LandingSource, warnings: Counter
) -> tuple[pa.Table, dict[int, str]]:
    """Cast raw columns to their kinds; returns the typed table and row -> failure reason."""
    failures: dict[int, list[str]] = {}
    columns = {}
    for name, kind in source.columns.items():
        column = raw[name]
        if kind is Kind.FLOAT and not pa.types.is_string(column.type):
            typed = column.cast(pa.float64())
        elif kind is Kind.FLOAT:
            typed = _cast_matching(column, _FLOAT_TEXT, pa.float64())
        elif kind is Kind.DATE:
            typed = _cast_matching(column, _DATE_TEXT, pa.date32())
        elif kind is Kind.TIMESTAMP:
            typed = _coerce_timestamps(column, warnings)
        else:
            typed = column
        bad = pc.and_(pc.is_valid(column), pc.is_null(typed))
        for index in np.flatnonzero(bad.to_numpy(zero_copy_only=False)):
            failures.setdefault(int(index), []).append(f"wrong_type:{name}")
        columns[name] = typed
    columns[LINE_COLUMN] = raw[LINE_COLUMN]
    typed_table = pa.table(columns)
    return typed_table, {index: ";".join(reasons) for index, reasons in failures.items()}


def _coerce_timestamps(column: pa.ChunkedArray, warnings: Counter) -> pa.ChunkedArray:
    utc = pa.timestamp("us", tz="UTC")
    try:  # the common case: every value ISO 8601 with an offset
        return column.cast(utc)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = pc.utf8_trim_whitespace(column)
    with_offset = pc.match_substring_regex(text, _DATETIME_TEXT + _UTC_OFFSET_TEXT)
    naive = pc.match_substring_regex(text, _DATETIME_TEXT + "$")
    epoch = pc.match_substring_regex(text, _EPOCH_TEXT)

    aware_values = _cast_each(pc.if_else(with_offset, text, None), utc)
    naive_values = _cast_each(pc.if_else(naive, text, None), pa.timestamp("us")).cast(utc)
    epoch_seconds = pc.if_else(epoch, text, None).cast(pa.float64())
    epoch_micros = pc.if_else(
        pc.greater_equal(epoch_seconds, _EPOCH_MILLIS_FROM),
        pc.multiply(epoch_seconds, 1e3),
        pc.multiply(epoch_seconds, 1e6),
    )
    epoch_values = pc.round(epoch_micros).cast(pa.int64()).cast(utc)

    warnings["naive_timestamps"] += pc.sum(pc.is_valid(naive_values)).as_py() or 0
    warnings["epoch_timestamps"] += pc.sum(pc.is_valid(epoch_values)).as_py() or 0
    return pc.coalesce(aware_values, naive_values, epoch_values)


def _cast_matching(column: pa.ChunkedArray, pattern: str, target: pa.DataType):
    """Cast text to `target`; values not matching `pattern` (or impossible) become null."""
    try:
        return column.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = pc.utf8_trim_whitespace(column)
    return _cast_each(pc.if_else(pc.match_substring_regex(text, pattern), text, None), target)


def _cast_each(values, target: pa.DataType):
    """Cast, turning the rare well-formed-but-impossible value (2024-13-40) into null."""
    try:
        return values.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        casted = []
        for value in values.to_pylist():
            try:
                casted.append(pa.scalar(value, pa.string()).cast(target).as_py())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                casted.append(None)
        return pa.array(casted, target)


def _tokenize_cards(table: pa.Table, source: LandingSource, tokenizer: CardTokenizer):
    for name, kind in source.columns.items():
        if kind is Kind.CARD_NUMBER:
            index = table.schema.get_field_index(name)
            table = table.set_column(
                index, source.stored_name(name), tokenizer.tokenize(table[name])
            )
    return table
