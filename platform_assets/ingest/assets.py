"""Bronze assets: one per landing source, each with its quarantine table and checks."""

from datetime import UTC, date, datetime

import pyarrow.compute as pc
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from platform_assets.ingest.bronze import (
    LANDING_DATE_COLUMN,
    BronzeBatch,
    LandingFile,
    ingest_batch,
)
from platform_assets.ingest.parsing import BatchRejected
from platform_assets.ingest.schemas import bronze_pandera_schema
from platform_assets.ingest.sources import (
    PARTITIONED_SOURCES,
    REFERENCE_SOURCES,
    LandingSource,
)
from platform_assets.pandera_checks import SCHEMA_CHECK, schema_check, schema_problems
from platform_assets.partitions import daily_partitions
from platform_assets.quarantine import (
    commit_quarantine,
    quarantine_check_spec,
    quarantine_problems,
    quarantine_spec,
)
from platform_assets.resources import CardTokenizerResource, LakeResource, LandingResource
from platform_assets.tables import commit, manifest_key, quarantine_key, table_path


def landing_key(source: LandingSource) -> AssetKey:
    return AssetKey(["landing", source.name])


def bronze_key(source: LandingSource) -> AssetKey:
    return AssetKey(["bronze", source.name])


def landing_spec(source: LandingSource) -> AssetSpec:
    folder = f"{source.name}/<YYYY-MM-DD>/" if source.partitioned else f"reference/{source.name}/"
    return AssetSpec(
        landing_key(source),
        group_name="landing",
        description=f"Files dropped by the source system in `landing/{folder}` "
        "(see docs/landing-contract.md).",
        kinds={"file"},
    )


def build_bronze_asset(source: LandingSource):
    key = bronze_key(source)
    partitioned = source.partitioned
    # Checks are partitioned like their asset, so each partition's verdict is its own.
    partitions_def = daily_partitions if partitioned else None

    @multi_asset(
        name=f"bronze_{source.name}",
        specs=[
            AssetSpec(
                key,
                deps=[landing_key(source)],
                group_name="bronze",
                description=f"Every parseable {source.name} row as delivered, typed, card "
                "numbers tokenized, with `_source_file`, `_line`, `_ingested_at`.",
                kinds={"delta"},
            ),
            quarantine_spec(
                key,
                landing_key(source),
                "bronze",
                f"{source.name} lines that could not be parsed or typed: raw text "
                "(card numbers redacted) and the reason.",
            ),
        ],
        check_specs=[
            AssetCheckSpec(
                "rows_accounted_for",
                asset=key,
                partitions_def=partitions_def,
                description="source rows = bronze + quarantined + rows of re-delivered files",
            ),
            AssetCheckSpec(
                SCHEMA_CHECK,
                asset=key,
                partitions_def=partitions_def,
                description="bronze Pandera schema, checked before commit",
            ),
            quarantine_check_spec(key, partitions_def),
        ],
        partitions_def=partitions_def,
    )
    def bronze_asset(
        context: AssetExecutionContext,
        lake: LakeResource,
        landing: LandingResource,
        card_tokenizer: CardTokenizerResource,
    ):
        day = date.fromisoformat(context.partition_key) if partitioned else None
        paths = (
            landing.partition_files(source.name, day)
            if partitioned
            else landing.reference_files(source.name)
        )
        files = [LandingFile(landing.relative_name(path), path.read_bytes()) for path in paths]
        context.log.info(f"{len(files)} landing file(s) for {source.name} {day or 'snapshot'}")
        try:
            batch = ingest_batch(
                files,
                source,
                card_tokenizer.tokenizer(),
                ingested_at=datetime.now(UTC),
                partition=day,
                ingested_elsewhere=_hashes_in_other_partitions(lake, key, day),
            )
        except BatchRejected as rejected:
            yield schema_check(key, [str(rejected)], 0)
            raise Failure(description=str(rejected)) from None
        problems = schema_problems(bronze_pandera_schema(source), batch.rows)
        quarantine_issues = quarantine_problems(batch.quarantine)
        if problems or quarantine_issues:
            yield schema_check(key, problems, batch.rows.num_rows)
            yield schema_check(quarantine_key(key), quarantine_issues, batch.quarantine.num_rows)
            raise Failure(
                f"bronze {source.name} failed its schema ({problems + quarantine_issues}); "
                "nothing was written."
            )

        version = commit(lake, key, batch.rows, LANDING_DATE_COLUMN if partitioned else None, day)
        if partitioned:
            commit(lake, manifest_key(key), batch.manifest(), LANDING_DATE_COLUMN, day)
        yield MaterializeResult(asset_key=key, metadata=_bronze_metadata(batch, version, lake, key))
        yield from commit_quarantine(lake, key, batch.quarantine, day)
        yield schema_check(key, [], batch.rows.num_rows)
        yield AssetCheckResult(
            asset_key=key,
            check_name="rows_accounted_for",
            passed=batch.accounted_rows == batch.source_rows,
            metadata={
                "source_rows": batch.source_rows,
                "bronze_rows": batch.rows.num_rows,
                "quarantined_rows": batch.quarantine.num_rows,
                "redelivered_rows": batch.redelivered_rows,
            },
        )

    return bronze_asset


def _hashes_in_other_partitions(
    lake: LakeResource, key: AssetKey, day: date | None
) -> dict[str, str]:
    if day is None:
        return {}
    other_days = pc.field(LANDING_DATE_COLUMN) != day
    files = lake.read(
        table_path(manifest_key(key)), filters=other_days, columns=["sha256", "_source_file"]
    )
    if files is None:
        return {}
    return dict(zip(files["sha256"].to_pylist(), files["_source_file"].to_pylist(), strict=True))


def _bronze_metadata(batch: BronzeBatch, version: int, lake: LakeResource, key: AssetKey) -> dict:
    return {
        "dagster/row_count": batch.rows.num_rows,
        "files": batch.files,
        "source_rows": batch.source_rows,
        "rows_written": batch.rows.num_rows,
        "rows_quarantined": batch.quarantine.num_rows,
        "duplicate_rows": batch.redelivered_rows,
        "redelivered_files": MetadataValue.json(batch.redelivered_files),
        "warnings": MetadataValue.json(dict(batch.warnings)),
        "unexpected_columns": MetadataValue.json(batch.unexpected_columns),
        "delta_version": version,
        "table_uri": lake.table_uri(table_path(key)),
    }


BRONZE_ASSETS = [
    build_bronze_asset(source) for source in (*PARTITIONED_SOURCES, *REFERENCE_SOURCES)
]
LANDING_SPECS = [landing_spec(source) for source in (*PARTITIONED_SOURCES, *REFERENCE_SOURCES)]
