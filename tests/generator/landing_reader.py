"""Independent reading of landing files for the generator tests: stdlib json/csv only, so
the checks do not reuse the generator's own formatting code."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path


def physical_lines(path: Path) -> list[bytes]:
    """Lines as written; a last line without newline (a truncated record) is kept."""
    lines = path.read_bytes().split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def csv_header(path: Path) -> list[str]:
    return physical_lines(path)[0].decode().split(",")


def parse_record(line: bytes, header: list[str] | None) -> dict:
    """A JSON object (header None) or a CSV row keyed by the header; raises on bad input."""
    text = line.decode("utf-8")
    if header is None:
        record = json.loads(text)
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        return record
    (fields,) = list(csv.reader([text], strict=True))
    if len(fields) != len(header):
        raise ValueError(f"{len(fields)} fields, header has {len(header)}")
    return {name: (value or None) for name, value in zip(header, fields, strict=True)}


def parse_event_time(value) -> datetime:
    """ISO 8601 (offset, or naive = UTC) or epoch seconds/milliseconds by magnitude."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        number = int(value)
        return datetime.fromtimestamp(number / (1000 if number > 10**11 else 1), UTC)
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    doubled = [d * 2 - 9 if d * 2 > 9 else d * 2 for d in digits[1::2]]
    return (sum(digits[0::2]) + sum(doubled)) % 10 == 0
