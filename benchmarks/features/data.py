"""Silver transactions for the feature benchmark: 8 days as the platform's Delta table.

The rows come from `fraud_generator`'s vectorised simulation (the same world, users, bursts
and account takeovers as its landing files), typed as silver directly, without writing and
ingesting landing files: the benchmark measures the feature step, not ingestion. Columns and
types are the silver table's (bronze's schema without `landing_date`, plus `event_date`),
card numbers are tokenized with the platform's tokenizer, and every day is committed with
the platform's own `LakeResource.replace_partition`, so the Delta layout is the one the
feature asset reads in production.

Generated once per (rows/day, days, seed) under the work directory; a stamp holding the
settings marks a finished generation. Generation is never timed.
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from benchmarks.features.output import SILVER_TABLE
from benchmarks.workspace import BENCHMARK_TOKEN_KEY, generated_once, generation_settings
from fraud_generator import GeneratorConfig
from fraud_generator.events import simulate_day
from fraud_generator.world import build_world
from fraud_generator.writer import descriptive_columns, transaction_id_width, transaction_ids
from platform_assets.features.compute import USER_HISTORY_DAYS
from platform_assets.ingest.bronze import bronze_schema
from platform_assets.ingest.sources import TRANSACTIONS
from platform_assets.ingest.tokenization import CardTokenizer
from platform_assets.resources import LakeResource

FIRST_DAY = date(2024, 1, 1)
DAY = FIRST_DAY + timedelta(days=USER_HISTORY_DAYS)
"""The partition built: the last of the generated days, so its 7 days of history exist."""
DAYS = USER_HISTORY_DAYS + 1


def silver_schema() -> pa.Schema:
    bronze = bronze_schema(TRANSACTIONS)
    schema = bronze.remove(bronze.get_field_index("landing_date"))
    return schema.append(pa.field(TRANSACTIONS.partition_date_column, pa.date32()))


def silver_lake(work_dir: Path, rows: int, seed: int) -> Path:
    """The lake root holding `silver/transactions`: DAYS days of `rows` transactions each."""
    folder = work_dir / "data" / f"silver-rows-{rows}-days-{DAYS}-seed-{seed}"
    config = _config(folder, rows, seed)
    generated_once(folder, config.to_json(), lambda: generate(config, folder / "lake"))
    return folder / "lake"


def _config(folder: Path, rows: int, seed: int) -> GeneratorConfig:
    return GeneratorConfig(
        out_dir=folder, start=FIRST_DAY, days=DAYS, rows_per_day=rows, seed=seed, defects=False
    )


def generate(config: GeneratorConfig, lake_root: Path) -> None:
    world = build_world(config)
    tokenizer = CardTokenizer(BENCHMARK_TOKEN_KEY.encode())
    lake = LakeResource(root=str(lake_root))
    lake.ensure_storage()
    width = transaction_id_width(config.rows_per_day)
    for day in config.dates:
        rows = silver_rows(world, config, day, tokenizer, width)
        lake.replace_partition(SILVER_TABLE, rows, TRANSACTIONS.partition_date_column, day)


def silver_rows(world, config: GeneratorConfig, day: date, tokenizer, width: int) -> pa.Table:
    events = simulate_day(world, config, day)
    count = events.size
    order = np.arange(count)
    columns = descriptive_columns(events, world, order)
    # Ingested an hour after the day ends, from two files as the landing contract has them.
    ingested = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    half = (count + 1) // 2
    values = {
        **columns,
        "transaction_id": transaction_ids(np.full(count, day.toordinal()), order + 1, width),
        "card_token": tokenizer.tokenize(columns.pop("card_number")),
        "amount": pa.array(events.amount),
        # The landing files carry 5 decimals; silver holds what they said.
        "location_lat": pa.array(np.round(events.lat, 5)),
        "location_lon": pa.array(np.round(events.lon, 5)),
        "event_time": pa.array(events.event_ms * 1000, pa.timestamp("us", tz="UTC")),
        "_source_file": pa.array(
            np.where(
                order < half,
                f"transactions/{day.isoformat()}/part-0.jsonl",
                f"transactions/{day.isoformat()}/part-1.csv",
            )
        ),
        "_line": pa.array(np.where(order < half, order + 1, order - half + 2)),
        "_ingested_at": pa.repeat(pa.scalar(ingested + timedelta(hours=1)), count),
        "event_date": pa.repeat(pa.scalar(day, pa.date32()), count),
    }
    schema = silver_schema()
    columns = [pc.cast(values[field.name], field.type) for field in schema]
    return pa.table(columns, schema=schema)


def describe(lake_root: Path) -> list[tuple[str, str]]:
    """What was generated: settings, users, table size, and how bursty the users are."""
    settings = generation_settings(lake_root.parent)
    table = DeltaTable(str(lake_root / SILVER_TABLE))
    files = table.file_uris()
    size = sum(Path(uri.removeprefix("file://")).stat().st_size for uri in files)
    return [
        (
            f"data, {settings['rows_per_day']:,} rows/day x {settings['days']} days",
            f"fraud_generator world and events, seed {settings['seed']}, "
            f"{settings['n_users']:,} users, {settings['n_merchants']:,} merchants, typed as "
            f"silver directly: Delta `silver/transactions`, {len(files)} Parquet files, "
            f"{size / 2**20:,.0f} MiB; the partition built is {DAY}",
        )
    ]
