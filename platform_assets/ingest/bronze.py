"""One batch of landing files -> bronze rows and quarantined lines (pure; no storage).

Bronze keeps every source row that could be parsed and typed, with its lineage
(`_source_file`, `_line`, `_ingested_at`). Lines that could not go to the
quarantine with their raw text (card numbers redacted) and a reason. A file whose bytes
equal one already ingested adds nothing: its rows are counted as duplicates.
"""

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pyarrow as pa

from platform_assets.ingest.parsing import LINE_COLUMN, file_format, parse_file
from platform_assets.ingest.sources import LandingSource
from platform_assets.ingest.tokenization import CardTokenizer
from platform_assets.quarantine import (
    QUARANTINE_PARTITION_COLUMN,
    QUARANTINE_SCHEMA,
    empty_quarantine,
)

LANDING_DATE_COLUMN = "landing_date"
LINEAGE_FIELDS = [
    pa.field("_source_file", pa.string()),
    pa.field(LINE_COLUMN, pa.int64()),
    pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
]


# Which file (by content hash) each partition ingested: lets a re-delivery into another
# day's folder be recognised without scanning bronze itself.
FILE_MANIFEST_SCHEMA = pa.schema(
    [
        pa.field(LANDING_DATE_COLUMN, pa.date32()),
        pa.field("_source_file", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("source_rows", pa.int64()),
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class LandingFile:
    name: str
    """Path relative to the landing root, e.g. `transactions/2024-01-02/part-0.csv`."""
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class BronzeBatch:
    rows: pa.Table
    quarantine: pa.Table
    files: int = 0
    source_rows: int = 0
    redelivered_files: list[str] = field(default_factory=list)
    redelivered_rows: int = 0
    warnings: Counter = field(default_factory=Counter)
    unexpected_columns: dict[str, list[str]] = field(default_factory=dict)
    ingested_files: list[dict] = field(default_factory=list)
    """One `FILE_MANIFEST_SCHEMA` record per file whose rows went to bronze/quarantine."""

    @property
    def accounted_rows(self) -> int:
        return self.rows.num_rows + self.quarantine.num_rows + self.redelivered_rows

    def manifest(self) -> pa.Table:
        return pa.Table.from_pylist(self.ingested_files, schema=FILE_MANIFEST_SCHEMA)


def bronze_schema(source: LandingSource) -> pa.Schema:
    schema = source.typed_schema()
    for lineage_field in LINEAGE_FIELDS:
        schema = schema.append(lineage_field)
    if source.partitioned:
        schema = schema.append(pa.field(LANDING_DATE_COLUMN, pa.date32()))
    return schema


def ingest_batch(
    files: list[LandingFile],
    source: LandingSource,
    tokenizer: CardTokenizer,
    ingested_at: datetime,
    partition: date | None,
    ingested_elsewhere: dict[str, str] | None = None,
) -> BronzeBatch:
    """Parse a batch (one partition's files, or a reference snapshot).

    `ingested_elsewhere` maps the sha256 of files already ingested under another
    partition (the file manifest) to their names, so a re-delivery into another day's
    folder is recognised too.
    Raises `BatchRejected` (from parsing) before anything is produced.
    """
    seen = dict(ingested_elsewhere or {})
    row_pieces: list[pa.Table] = []
    quarantined: list[dict] = []
    batch = BronzeBatch(rows=bronze_schema(source).empty_table(), quarantine=empty_quarantine())
    for landing_file in sorted(files, key=lambda f: f.name):
        batch.files += 1
        digest = landing_file.sha256
        if digest in seen and (repeated_rows := count_data_lines(landing_file)):
            batch.source_rows += repeated_rows
            batch.redelivered_files.append(landing_file.name)
            batch.redelivered_rows += repeated_rows
            continue
        seen[digest] = landing_file.name
        parsed = parse_file(landing_file.name, landing_file.data, source, tokenizer)
        batch.source_rows += parsed.source_rows
        batch.ingested_files.append(
            {
                LANDING_DATE_COLUMN: partition,
                "_source_file": landing_file.name,
                "sha256": digest,
                "source_rows": parsed.source_rows,
                "_ingested_at": ingested_at,
            }
        )
        batch.warnings.update(parsed.warnings)
        if parsed.unexpected_columns:
            batch.unexpected_columns[landing_file.name] = list(parsed.unexpected_columns)
        row_pieces.append(_with_lineage(parsed.rows, landing_file, ingested_at, partition))
        quarantined.extend(
            {
                "source": source.name,
                "stage": "bronze",
                QUARANTINE_PARTITION_COLUMN: partition,
                "_source_file": landing_file.name,
                LINE_COLUMN: rejected.line,
                "reason": rejected.reason,
                "raw_text": tokenizer.redact(rejected.raw.decode("utf-8", "backslashreplace")),
                "_ingested_at": ingested_at,
            }
            for rejected in parsed.rejected
        )
    if row_pieces:
        batch.rows = pa.concat_tables(row_pieces).cast(bronze_schema(source))
    if quarantined:
        batch.quarantine = pa.Table.from_pylist(quarantined, schema=QUARANTINE_SCHEMA)
    return batch


def count_data_lines(landing_file: LandingFile) -> int:
    """Source rows of a file without parsing it: non-blank lines, less a CSV header."""
    lines = sum(1 for line in landing_file.data.split(b"\n") if line.strip())
    return max(lines - (file_format(landing_file.name) == "csv"), 0)


def _with_lineage(rows: pa.Table, landing_file: LandingFile, ingested_at, partition) -> pa.Table:
    count = rows.num_rows
    lines = rows[LINE_COLUMN]
    rows = rows.drop_columns([LINE_COLUMN])
    rows = rows.append_column("_source_file", repeat_text(landing_file.name, count))
    rows = rows.append_column(LINE_COLUMN, lines)
    utc = pa.timestamp("us", tz="UTC")
    rows = rows.append_column("_ingested_at", pa.repeat(pa.scalar(ingested_at, utc), count))
    if partition is not None:
        rows = rows.append_column(
            LANDING_DATE_COLUMN, pa.repeat(pa.scalar(partition, pa.date32()), count)
        )
    return rows


def repeat_text(value: str, count: int) -> pa.Array:
    """`value` `count` times, built from buffers (pa.repeat copies a string per row)."""
    encoded = value.encode()
    offsets = np.arange(count + 1, dtype=np.int64) * len(encoded)
    return pa.LargeStringArray.from_buffers(
        count, pa.py_buffer(offsets), pa.py_buffer(encoded * count)
    ).cast(pa.string())
