"""Writes landing files: the text of every column, chunked line rendering, defective lines
spliced in, and a record (path, format, rows, sha256) per file."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from fraud_generator.defects import (
    LAST_LINE,
    ROW_DEFECTS,
    SCHEMA_CHANGES,
    DefectKind,
    LineContext,
)
from fraud_generator.events import DayEvents
from fraud_generator.layout import FilePlan
from fraud_generator.text import (
    HashingWriter,
    csv_header,
    encode_numbers,
    encode_strings,
    format_fixed,
    format_ids,
    format_timestamps,
    render_line,
    render_lines,
    take,
)
from fraud_generator.world import CATEGORY_NAMES, CURRENCIES, LOYALTY_TIERS, PAYMENT_METHODS, World

TRANSACTION_COLUMNS = (
    "transaction_id",
    "user_id",
    "card_number",
    "amount",
    "currency",
    "merchant_id",
    "merchant_category",
    "location_lat",
    "location_lon",
    "payment_method",
    "device_id",
    "event_time",
)
NUMERIC_COLUMNS = frozenset({"amount", "location_lat", "location_lon"})
ADDED_COLUMN_NAME = "loyalty_tier"
LINES_PER_CHUNK = 200_000  # bounds memory and paces the progress bar on large days


def transaction_id_width(rows_per_day: int) -> int:
    return max(6, len(str(rows_per_day)))


def transaction_ids(
    day_ordinals: np.ndarray, sequence: np.ndarray, width: int, present: np.ndarray | None = None
) -> pa.Array:
    """tx-<YYYYMMDD>-<sequence within the day>, e.g. tx-20240102-000001."""
    days, day_index = np.unique(day_ordinals, return_inverse=True)
    prefixes = pa.array([f"tx-{date.fromordinal(int(day)):%Y%m%d}-" for day in days])
    return format_ids(take(prefixes, day_index), sequence, width, present)


def descriptive_columns(
    events: DayEvents, world: World, rows: np.ndarray, present: np.ndarray | None = None
) -> dict[str, pa.Array]:
    """The string columns of events `rows` that are the same in files and ground truth."""
    device = events.device[rows]
    device_present = device >= 0 if present is None else (device >= 0) & present
    return {
        "user_id": take(world.user_ids, events.user[rows], present),
        "card_number": take(world.card_numbers, events.card[rows], present),
        "currency": take(pa.array(CURRENCIES), events.currency[rows], present),
        "merchant_id": take(world.merchant_ids, events.merchant[rows], present),
        "merchant_category": take(pa.array(CATEGORY_NAMES), events.category[rows], present),
        "payment_method": take(pa.array(PAYMENT_METHODS), events.payment_method[rows], present),
        "device_id": format_ids("d", device + 1, world.device_id_width, device_present),
    }


def _transaction_fields(
    events: DayEvents, world: World, rows: np.ndarray, width: int, plan: FilePlan
) -> dict[str, pa.Array]:
    """Encoded field texts of the given event rows, under the canonical column names."""
    values = descriptive_columns(events, world, rows)
    values |= {
        "transaction_id": transaction_ids(
            np.full(len(rows), events.day.toordinal()), rows + 1, width
        ),
        "amount": format_fixed(events.amount[rows], 2),
        "location_lat": format_fixed(events.lat[rows], 5),
        "location_lon": format_fixed(events.lon[rows], 5),
        "event_time": format_timestamps(events.event_ms[rows], events.offset_minutes[rows]),
    }
    if plan.added_column:
        values[ADDED_COLUMN_NAME] = take(
            pa.array(LOYALTY_TIERS), events.user[rows] % len(LOYALTY_TIERS)
        )
    return {
        name: (encode_numbers if name in NUMERIC_COLUMNS else encode_strings)(text, plan.fmt)
        for name, text in values.items()
    }


def output_columns(plan: FilePlan) -> list[tuple[str, str]]:
    """(name in the file, canonical column) pairs in file order, schema defects applied."""
    columns = [*TRANSACTION_COLUMNS, *([ADDED_COLUMN_NAME] if plan.added_column else [])]
    changes = SCHEMA_CHANGES.get(plan.schema_defect, {})
    return [(changes.get(c, c), c) for c in columns if changes.get(c, c) is not None]


def _defective_line(kind: DefectKind, fields: dict[str, str], columns, ctx: LineContext) -> bytes:
    if kind.edit_fields:
        fields |= kind.edit_fields(fields, ctx)
    line = render_line({name: fields[column] for name, column in columns}, ctx.fmt)
    if kind.edit_line:
        line = kind.edit_line(line, fields, ctx)
    newline = "" if kind.placement == LAST_LINE else "\n"
    return (line + newline).encode("utf-8", "surrogateescape")


def _transaction_batches(
    plan: FilePlan, events: DayEvents, world: World, width: int, progress
) -> Iterator[tuple[pa.Array, dict[int, bytes]]]:
    columns = output_columns(plan)
    for start in range(0, len(plan.line_rows), LINES_PER_CHUNK):
        rows = plan.line_rows[start : start + LINES_PER_CHUNK]
        defects = plan.line_defects[start : start + LINES_PER_CHUNK]
        fields = _transaction_fields(events, world, rows, width, plan)
        lines = render_lines({name: fields[column] for name, column in columns}, plan.fmt)
        replacements = {}
        for index in np.flatnonzero(defects >= 0):
            row = rows[index]
            ctx = LineContext(
                plan.fmt,
                int(row) + 1,
                int(events.event_ms[row]),
                int(events.offset_minutes[row]),
                float(events.amount[row]),
            )
            line_fields = {name: values[index].as_py() for name, values in fields.items()}
            replacements[int(index)] = _defective_line(
                ROW_DEFECTS[defects[index]], line_fields, columns, ctx
            )
        yield lines, replacements
        progress.update(len(rows))


def write_file(
    landing: Path,
    path: str,
    fmt: str,
    names: list[str],
    batches: Iterable[tuple[pa.Array, dict[int, bytes]]],
) -> dict:
    """Write a landing file from batches of rendered lines; returns its record."""
    rows = 0
    with HashingWriter(landing / path) as out:
        if fmt == "csv":
            out.write(csv_header(names).encode())
        for lines, replacements in batches:
            out.write_lines(lines, replacements)
            rows += len(lines)
    return {"path": path, "format": fmt, "rows": rows, "sha256": out.sha256}


def write_table(landing: Path, path: str, fmt: str, fields: dict[str, pa.Array]) -> dict:
    """Write a small, non-empty table (reference data, chargebacks) in one batch."""
    return write_file(landing, path, fmt, list(fields), [(render_lines(fields, fmt), {})])


def write_transaction_files(
    landing: Path, files: list[FilePlan], events: DayEvents, world: World, width: int, progress
) -> list[dict]:
    records: dict[str, dict] = {}
    for plan in files:
        if plan.copy_of is not None:
            shutil.copyfile(landing / plan.copy_of.path, landing / plan.path)
            records[plan.path] = records[plan.copy_of.path] | {"path": plan.path}
            progress.update(len(plan.line_rows))
            continue
        names = [name for name, _ in output_columns(plan)]
        batches = _transaction_batches(plan, events, world, width, progress)
        records[plan.path] = write_file(landing, plan.path, plan.fmt, names, batches)
    return list(records.values())
