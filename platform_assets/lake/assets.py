"""Silver assets: deduplicated, validated tables, with their quarantine and checks.

Check results are emitted from inside the (partitioned) asset, so each partition's run
carries its own verdict.
"""

from datetime import date

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from platform_assets.ingest.assets import bronze_key
from platform_assets.ingest.bronze import LANDING_DATE_COLUMN
from platform_assets.ingest.parsing import BatchRejected
from platform_assets.ingest.sources import PARTITIONED_SOURCES, REFERENCE_SOURCES, LandingSource
from platform_assets.lake.schemas import SILVER_MODELS
from platform_assets.lake.silver import SilverBatch, refine
from platform_assets.pandera_checks import SCHEMA_CHECK, schema_check
from platform_assets.partitions import daily_partitions
from platform_assets.quarantine import (
    commit_quarantine,
    quarantine_check_spec,
    quarantine_problems,
    quarantine_spec,
)
from platform_assets.resources import LakeResource
from platform_assets.tables import commit, quarantine_key, table_path


def silver_key(source: LandingSource) -> AssetKey:
    return AssetKey(["silver", source.name])


def build_silver_asset(source: LandingSource):
    key = silver_key(source)
    upstream = bronze_key(source)
    partitioned = source.partitioned
    # Checks are partitioned like their asset, so each partition's verdict is its own.
    partitions_def = daily_partitions if partitioned else None
    model = SILVER_MODELS[source.name]

    @multi_asset(
        name=f"silver_{source.name}",
        specs=[
            AssetSpec(
                key,
                deps=[upstream],
                group_name="silver",
                description=f"{source.name}: one row per {source.key}, UTC, validated by "
                f"the Pandera model `{model.__name__}` before commit.",
                kinds={"delta", "pandera"},
            ),
            quarantine_spec(
                key,
                upstream,
                "silver",
                f"{source.name} rows that failed a silver check, with the checks.",
            ),
        ],
        check_specs=[
            AssetCheckSpec(
                SCHEMA_CHECK,
                asset=key,
                partitions_def=partitions_def,
                description=f"columns and types match `{model.__name__}`; else nothing is written",
            ),
            AssetCheckSpec(
                "pandera_rows",
                asset=key,
                partitions_def=partitions_def,
                description="no row failed a row-level check (failed rows are quarantined)",
            ),
            AssetCheckSpec(
                "rows_accounted_for",
                asset=key,
                partitions_def=partitions_def,
                description="bronze rows = silver + quarantined + exact duplicates dropped",
            ),
            quarantine_check_spec(key, partitions_def),
        ],
        partitions_def=partitions_def,
    )
    def silver_asset(context: AssetExecutionContext, lake: LakeResource):
        day = date.fromisoformat(context.partition_key) if partitioned else None
        bronze = (
            lake.read_partition(table_path(upstream), LANDING_DATE_COLUMN, day)
            if partitioned
            else lake.read(table_path(upstream))
        )
        if bronze is None:
            raise Failure(f"{table_path(upstream)} does not exist yet: materialize it first")
        try:
            batch = refine(bronze, source, day)
        except BatchRejected as rejected:
            yield schema_check(key, [str(rejected)], bronze.num_rows)
            raise Failure(description=str(rejected)) from None
        quarantine_issues = quarantine_problems(batch.quarantine)
        if quarantine_issues:
            yield schema_check(quarantine_key(key), quarantine_issues, batch.quarantine.num_rows)
            raise Failure(f"silver {source.name} quarantine failed its schema: {quarantine_issues}")

        version = commit(lake, key, batch.rows, source.partition_date_column, day)
        yield MaterializeResult(asset_key=key, metadata=_silver_metadata(batch, version))
        yield from commit_quarantine(lake, key, batch.quarantine, day)
        yield from _silver_checks(key, batch)

    return silver_asset


def _silver_metadata(batch: SilverBatch, version: int) -> dict:
    return {
        "dagster/row_count": batch.rows.num_rows,
        "bronze_rows": batch.bronze_rows,
        "rows_written": batch.rows.num_rows,
        "rows_quarantined": batch.quarantine.num_rows,
        "exact_duplicates": batch.exact_duplicates,
        "failed_checks": MetadataValue.json(dict(batch.failures)),
        "delta_version": version,
    }


def _silver_checks(key: AssetKey, batch: SilverBatch):
    yield schema_check(key, [], batch.bronze_rows - batch.exact_duplicates)
    yield AssetCheckResult(
        asset_key=key,
        check_name="pandera_rows",
        passed=not batch.failures,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "rows_quarantined": batch.quarantine.num_rows,
            "failed_checks": MetadataValue.json(dict(batch.failures)),
        },
    )
    yield AssetCheckResult(
        asset_key=key,
        check_name="rows_accounted_for",
        passed=batch.accounted_rows == batch.bronze_rows,
        metadata={
            "bronze_rows": batch.bronze_rows,
            "silver_rows": batch.rows.num_rows,
            "quarantined_rows": batch.quarantine.num_rows,
            "exact_duplicates": batch.exact_duplicates,
        },
    )


SILVER_ASSETS = [
    build_silver_asset(source) for source in (*PARTITIONED_SOURCES, *REFERENCE_SOURCES)
]
