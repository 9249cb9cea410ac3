"""Pandera validation results as Dagster asset check results (shared by every layer)."""

import pandas as pd
import pandera.errors
import pyarrow as pa
from dagster import AssetCheckResult, AssetKey, MetadataValue

SCHEMA_CHECK = "pandera_schema"


def schema_problems(schema, rows: pa.Table) -> list[str]:
    """`column: check` for every failure of `schema` (a Pandera schema or model) on `rows`."""
    try:
        schema.validate(rows.to_pandas(types_mapper=pd.ArrowDtype), lazy=True)
    except pandera.errors.SchemaErrors as errors:
        return sorted(
            {f"{case.column}: {case.check}" for case in errors.failure_cases.itertuples()}
        )
    return []


def schema_check(key: AssetKey, problems: list[str], rows_validated: int) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=key,
        check_name=SCHEMA_CHECK,
        passed=not problems,
        metadata={
            "rows_validated": rows_validated,
            "problems": MetadataValue.json(problems),
        },
    )
