"""Copies of the silver tables in Postgres, for the dbt `postgres` target.

dbt-postgres cannot read Delta, and DuckDB's postgres extension cannot be downloaded here, so
before dbt runs on Postgres the platform loads the window's silver partitions into the schema
`silver` (delete the window, then COPY; one transaction, so a failed load changes nothing).
The small user and merchant snapshots are replaced whole.
"""

import io
from contextlib import closing
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from dagster import Failure
from psycopg2 import sql

from platform_assets.ingest.sources import PARTITIONED_SOURCES, REFERENCE_SOURCES, LandingSource
from platform_assets.lake.assets import silver_key
from platform_assets.resources import LakeResource
from platform_assets.tables import table_path
from platform_assets.transform.warehouse import WarehouseResource

SILVER_SCHEMA = "silver"
_POSTGRES_TYPES = {
    pa.string(): "text",
    pa.large_string(): "text",
    pa.float64(): "double precision",
    pa.int64(): "bigint",
    pa.int32(): "integer",
    pa.bool_(): "boolean",
    pa.date32(): "date",
    pa.timestamp("us", tz="UTC"): "timestamptz",
}


def postgres_type(arrow_type: pa.DataType) -> str:
    try:
        return _POSTGRES_TYPES[arrow_type]
    except KeyError:
        raise TypeError(f"no Postgres type for the silver column type {arrow_type}") from None


def load_silver_window(
    warehouse: WarehouseResource, lake: LakeResource, first: date, last: date
) -> dict[str, int]:
    """Load the days `first`..`last` of the partitioned silver tables, and the snapshots,
    into Postgres; returns the rows loaded per table."""
    batches = [
        (source, _read_silver(lake, source, first, last))
        for source in (*PARTITIONED_SOURCES, *REFERENCE_SOURCES)
    ]
    # The second `connection` is the transaction: committed at the end, else rolled back.
    with (
        closing(warehouse.connect_postgres()) as connection,
        connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            sql.SQL("create schema if not exists {}").format(sql.Identifier(SILVER_SCHEMA))
        )
        for source, rows in batches:
            _replace(cursor, source, rows, first, last)
    return {source.name: rows.num_rows for source, rows in batches}


def _read_silver(lake: LakeResource, source: LandingSource, first: date, last: date) -> pa.Table:
    path = table_path(silver_key(source))
    if source.partitioned:
        column = pc.field(source.partition_date_column)
        rows = lake.read(path, filters=(column >= first) & (column <= last))
    else:
        rows = lake.read(path)
    if rows is None:
        raise Failure(f"{path} does not exist yet: materialize it before the gold layer")
    return rows


def _replace(cursor, source: LandingSource, rows: pa.Table, first: date, last: date) -> None:
    table = sql.Identifier(SILVER_SCHEMA, source.name)
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in rows.schema.names)
    definitions = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(postgres_type(f.type)))
        for f in rows.schema
    )
    cursor.execute(sql.SQL("create table if not exists {} ({})").format(table, definitions))
    if source.partitioned:
        cursor.execute(
            sql.SQL("delete from {} where {} between %s and %s").format(
                table, sql.Identifier(source.partition_date_column)
            ),
            (first, last),
        )
    else:
        cursor.execute(sql.SQL("delete from {}").format(table))
    # pyarrow quotes every string and leaves nulls unquoted and empty: exactly how Postgres'
    # CSV format tells an empty string from NULL.
    buffer = io.BytesIO()
    pa_csv.write_csv(rows, buffer)
    buffer.seek(0)
    copy = sql.SQL("copy {} ({}) from stdin with (format csv, header true)").format(table, columns)
    cursor.copy_expert(copy.as_string(cursor), buffer)
