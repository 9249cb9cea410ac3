"""The platform's own path for one day of transactions: landing -> bronze -> silver.

`run_dagster_job` is what really runs in production: the daily lake job, restricted to the
transactions tables, executed in process on an ephemeral instance. `run_functions` calls
the same functions as the asset bodies in the same order, without Dagster, so the
difference between the two is the orchestration overhead.
"""

from datetime import UTC, date, datetime
from pathlib import Path

from dagster import DagsterInstance

from platform_assets.definitions import build_definitions
from platform_assets.environment import PlatformSettings
from platform_assets.ingest.assets import bronze_key
from platform_assets.ingest.bronze import LANDING_DATE_COLUMN, LandingFile, ingest_batch
from platform_assets.ingest.schemas import bronze_pandera_schema
from platform_assets.ingest.sources import TRANSACTIONS
from platform_assets.jobs import lake_keys
from platform_assets.lake.assets import silver_key
from platform_assets.lake.silver import refine
from platform_assets.pandera_checks import schema_problems
from platform_assets.quarantine import QUARANTINE_PARTITION_COLUMN, quarantine_problems
from platform_assets.resources import platform_resources
from platform_assets.tables import commit, manifest_key, quarantine_key, table_path


def _settings(landing: Path, out: Path) -> PlatformSettings:
    return PlatformSettings("local", landing_root=landing, lake_root=str(out / "lake"))


def run_dagster_job(landing: Path, day: date, out: Path) -> dict:
    job = build_definitions(_settings(landing, out)).resolve_job_def("daily_lake_job")
    result = job.execute_in_process(
        partition_key=day.isoformat(),
        instance=DagsterInstance.ephemeral(),
        asset_selection=lake_keys(TRANSACTIONS),
    )
    if not result.success:
        raise RuntimeError("the daily lake job failed")
    bronze = _metadata(result, "bronze_transactions", bronze_key(TRANSACTIONS))
    silver = _metadata(result, "silver_transactions", silver_key(TRANSACTIONS))
    return {
        "source_rows": bronze["source_rows"],
        "bronze_rows": bronze["rows_written"],
        "silver_rows": silver["rows_written"],
    }


def _metadata(result, node: str, key) -> dict:
    """The metadata of `key`'s materialization by the multi-asset `node`."""
    (materialization,) = [
        event for event in result.asset_materializations_for_node(node) if event.asset_key == key
    ]
    return {name: value.value for name, value in materialization.metadata.items()}


def run_functions(landing: Path, day: date, out: Path) -> dict:
    resources = platform_resources(_settings(landing, out))
    # Two functions, like the job's two steps: what bronze holds is freed before silver runs.
    counts = _bronze_step(resources, day)
    counts["silver_rows"] = _silver_step(resources["lake"], day)
    return counts


def _bronze_step(resources: dict, day: date) -> dict:
    """The bronze asset body; its look-up of other days' file hashes finds nothing on a
    fresh lake, so it is left out."""
    lake, landing = resources["lake"], resources["landing"]
    key = bronze_key(TRANSACTIONS)
    paths = landing.partition_files(TRANSACTIONS.name, day)
    files = [LandingFile(landing.relative_name(path), path.read_bytes()) for path in paths]
    tokenizer = resources["card_tokenizer"].tokenizer()
    batch = ingest_batch(files, TRANSACTIONS, tokenizer, datetime.now(UTC), day)
    _require_valid(schema_problems(bronze_pandera_schema(TRANSACTIONS), batch.rows))
    _require_valid(quarantine_problems(batch.quarantine))
    commit(lake, key, batch.rows, LANDING_DATE_COLUMN, day)
    commit(lake, manifest_key(key), batch.manifest(), LANDING_DATE_COLUMN, day)
    commit(lake, quarantine_key(key), batch.quarantine, QUARANTINE_PARTITION_COLUMN, day)
    return {"source_rows": batch.source_rows, "bronze_rows": batch.rows.num_rows}


def _silver_step(lake, day: date) -> int:
    """The silver asset body: it reads its partition of bronze back from Delta."""
    key = silver_key(TRANSACTIONS)
    bronze = lake.read_partition(table_path(bronze_key(TRANSACTIONS)), LANDING_DATE_COLUMN, day)
    refined = refine(bronze, TRANSACTIONS, day)
    _require_valid(quarantine_problems(refined.quarantine))
    commit(lake, key, refined.rows, TRANSACTIONS.partition_date_column, day)
    commit(lake, quarantine_key(key), refined.quarantine, QUARANTINE_PARTITION_COLUMN, day)
    return refined.rows.num_rows


def _require_valid(problems: list[str]) -> None:
    if problems:
        raise RuntimeError(f"schema problems: {problems}")
